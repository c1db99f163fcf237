"""Property test of ``multipart/related`` OrderRequests: a valid order with attachments, its MIME body
mutated line by line and its Content-Type's parameters changed; the answer is always a cXML document
(``invoke`` checks it) and no server error, and an accepted order's attachments are served as listed.

``FUZZ_EXAMPLES`` raises the number of examples for a deeper local search."""

from __future__ import annotations

import base64
import itertools
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from punchout.cxml.models import Comments
from punchout.store.dynamo import Table
from punchout.store.partners import PartnerRepository
from tests.support import builders
from tests.support.events import api_event
from tests.support.fuzz import fuzz_settings
from tests.unit.gateway.helpers import body_json, call, cxml, invoke, register, shop_key
from tests.unit.orders.conftest import drain

FUZZ = fuzz_settings(40)
_ORDER_NUMBERS = itertools.count(1)
HEADER_LINES = [
    b"Content-Type: text/xml",
    b"Content-Type: application/pdf; name=x.pdf",
    b"Content-Type: ",
    b"Content-Transfer-Encoding: base64",
    b"Content-Transfer-Encoding: quoted-printable",
    b"Content-Transfer-Encoding: x-unknown",
    b"Content-ID: <drawing-1@buyer.example>",
    b"Content-ID: <order@buyer.example>",
    b"Content-ID: " + b"x" * 1200,
    b'Content-Disposition: attachment; filename="' + "\U0001f600".encode() * 300 + b'"',
    b"Content-Disposition: attachment; filename*=UTF-8''%E2%82%AC.pdf",
    b"Content-Type: multipart/related; boundary=inner",
    b"X-Junk: \xff\xfe",
    b"=?utf-8?b?w6k=?=",
    b"",
    b"--",
]


def post(body: bytes, content_type: str) -> dict[str, Any]:
    event = api_event("POST", "/cxml/order", body=body, headers={"Content-Type": content_type}, binary=True)
    return invoke("OrderRequestFunction", event)


@st.composite
def mutated_multipart(draw: st.DrawFn) -> tuple[bytes, str]:
    cids = ["drawing-1@buyer.example", "spec@buyer.example"]
    document = builders.order_request(
        f"PO-MP-{next(_ORDER_NUMBERS)}",
        [builders.item_out("P1", "1", price="5.00")],
        comments=[Comments(text="See the drawings", attachments=[f"cid:{cid}" for cid in cids])],
    )
    parts = [
        (cids[0], "application/pdf", "drawing.pdf", b"%PDF-1.4 drawing", draw(st.sampled_from(["base64", "binary"]))),
        (cids[1], "text/plain", "spec.txt", "Spécification".encode(), draw(st.sampled_from(["8bit", "base64"]))),
    ]
    body, content_type = builders.multipart_related(document, parts)
    lines = body.split(b"\r\n")
    for _ in range(draw(st.integers(0, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "replace", "insert", "swap", "truncate"]))
        if kind == "delete":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(index, lines[index])
        elif kind == "replace":
            lines[index] = draw(st.one_of(st.sampled_from(HEADER_LINES), st.binary(max_size=40)))
        elif kind == "insert":
            lines.insert(index, draw(st.sampled_from(HEADER_LINES)))
        elif kind == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        elif kind == "truncate":
            lines = lines[:index]
        if not lines:
            lines = [b""]
    separator = draw(st.sampled_from([b"\r\n", b"\r\n", b"\n"]))
    body = separator.join(lines)
    boundary = content_type.split('boundary="', 1)[1].split('"', 1)[0]
    content_type = draw(
        st.sampled_from(
            [
                content_type,
                content_type.replace('; start="<order@buyer.example>"', ""),
                content_type.replace('start="<order@buyer.example>"', 'start="<nothing@x>"'),
                content_type.replace('type="text/xml"', 'type="application/xml"'),
                f"multipart/related; boundary={boundary}",
                f"multipart/related; boundary={boundary}x",
                "multipart/related",
                f'multipart/mixed; boundary="{boundary}"',
                f'multipart/related; boundary="{boundary}"; boundary="other"',
                content_type + "; charset=utf-16",
                content_type.replace("boundary=", "BOUNDARY="),
            ]
        )
    )
    return body, content_type


@FUZZ
@given(message=mutated_multipart())
def test_a_mutated_multipart_order_is_answered_in_cxml_and_its_attachments_served(
    table: Table, queue_url: str, message: tuple[bytes, str]
) -> None:
    if PartnerRepository(table).get("acme") is None:
        register(table)
    answer = cxml(post(*message))
    event(f"cXML {answer.status.code}")
    assert answer.status.code < 500, answer.status
    messages = drain(queue_url)
    if not answer.status.ok:
        assert messages == [], answer.status
        assert answer.status.message.strip() or answer.status.text.strip()
        return
    if not messages:
        return
    (queued,) = messages
    headers = shop_key(table)
    for index, listed in enumerate(queued["body"].get("attachments") or []):
        response = call("GET", f"/shop/orders/{queued['body']['message_id']}/attachments/{index}", headers=headers)
        assert response["statusCode"] == 200, response
        served = body_json(response)
        assert served["content_id"] == listed["content_id"]
        assert len(base64.b64decode(served["content_base64"])) == served["size"] == listed["size"]
