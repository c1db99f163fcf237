"""``as_published``: a message stored before the schema's last added fields is read with them."""

from __future__ import annotations

import json

from punchout.orders import as_published
from tests.unit.upgrade import older_items


def test_a_value_holding_the_last_added_key_does_not_pass_for_the_field() -> None:
    # Given a message 3d51d1a stored, without the fields added since, whose comments hold the text of the
    # last added key (as a buyer may write it: within the JSON string, its quotes are escaped)
    stored = dict(older_items.message("UP-1"))
    assert "follows_message_id" not in stored
    stored["comments"] = [{"text": 'see "follows_message_id":null', "lang": "en", "attachments": []}]
    text = json.dumps(stored, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert b"follows_message_id" in text
    # When it is read as published
    published = json.loads(as_published(text))
    # Then it has every added field, and the comment as stored
    assert published["follows_message_id"] is None
    assert published["requisition_id"] is None and published["ship_complete"] is False
    assert published["comments"] == stored["comments"]
