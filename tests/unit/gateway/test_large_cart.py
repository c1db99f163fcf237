"""A 5,000-line cart end to end: stored below DynamoDB's item limit, returned within Lambda's.

One cart is built per module (it takes a few seconds) and every test reads a different aspect of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from lxml import etree

from punchout.store.dynamo import Table
from tests.support import builders
from tests.support.dynamodb import ITEM_BYTES as DYNAMODB_ITEM_LIMIT
from tests.support.events import LAMBDA_RESPONSE_LIMIT, lambda_payload_bytes
from tests.unit.gateway.conftest import TABLE_NAME, clear_caches, table_definition
from tests.unit.gateway.helpers import (
    ReturnPage,
    Shop,
    item_outs,
    item_size,
    message_tree,
    open_session,
    open_session_with,
    register,
    setup_document,
    shop_key,
    table_items,
)

LINES = 5000


def _lines() -> list[dict[str, Any]]:
    return builders.large_cart_lines(LINES)


@dataclass
class LargeCart:
    put: dict[str, Any]
    items_after_put: list[dict[str, Any]]
    page: dict[str, Any]
    document: bytes
    encoding: str
    edited: dict[str, Any]  # the shop's view of the session an edit of the returned cart opened
    items_after_edit: list[dict[str, Any]]


def _round_trip(table: Table, encoding: str) -> LargeCart:
    partner = register(table, cart_encoding=encoding, cart_field_name=f"cxml-{encoding}", cxml_version="1.2.069")
    session_id, _ = open_session()
    headers = shop_key(table)
    shop = Shop(headers, session_id)
    put = shop.put({"lines": _lines()})
    items = table_items(table)
    page = shop.checkout()
    document = ReturnPage.of(page).document(partner)
    edited = Shop(headers, open_session_with(setup_document("edit", items=item_outs(document)))).context()
    return LargeCart(put, items, page, document, encoding, edited, table_items(table))


@pytest.fixture(scope="module", params=["base64", "urlencoded"])
def large(request: pytest.FixtureRequest, _moto: None) -> Iterator[LargeCart]:
    """The round trip of one 5,000-line cart per encoding, on a table of its own."""
    client = boto3.client("dynamodb")
    clear_caches()
    client.create_table(TableName=TABLE_NAME, **table_definition())
    try:
        yield _round_trip(Table(TABLE_NAME), request.param)
    finally:
        client.delete_table(TableName=TABLE_NAME)
        clear_caches()


def test_large_cart_is_stored(large: LargeCart) -> None:
    # Given a cart of 5,000 lines
    # When the shop stores it
    # Then it is accepted whole
    assert large.put["statusCode"] == 200, large.put["body"][:500]
    assert json.loads(large.put["body"])["line_count"] == LINES


def test_large_cart_items_stay_below_the_dynamodb_item_limit(large: LargeCart) -> None:
    # Given a stored cart of 5,000 lines
    # When every item in the table is measured
    sizes = {(i["pk"]["S"], i["sk"]["S"]): item_size(i) for i in large.items_after_put}
    # Then each is below 400 KB, and the lines were split over several chunk items
    assert max(sizes.values()) < DYNAMODB_ITEM_LIMIT, max(sizes.items(), key=lambda kv: kv[1])
    chunks = [key for key in sizes if key[0].startswith("CART#") and key[1].startswith("LINES#")]
    assert len(chunks) >= 2, sizes


def test_large_cart_can_be_edited_and_the_session_stays_below_the_item_limit(large: LargeCart) -> None:
    # Given the returned 5,000-line cart, sent back by the buyer in an edit (5,000 ItemOut lines)
    # When the shop reads the session the edit opened
    # Then it holds every earlier item and the restored cart, and no item reached DynamoDB's limit
    assert len(large.edited["items"]) == LINES
    assert all(item["restored"] for item in large.edited["items"])
    assert len(large.edited["cart"]["lines"]) == LINES
    assert max(item_size(i) for i in large.items_after_edit) < DYNAMODB_ITEM_LIMIT


def test_large_cart_returns_every_line(large: LargeCart) -> None:
    # Given a transferred cart of 5,000 lines
    # When the return page's document is read
    tree = message_tree(large.document)
    # Then it holds 5,000 ItemIn
    assert tree.xpath("count(//ItemIn)") == LINES


@pytest.mark.conformance
def test_large_cart_is_dtd_valid(large: LargeCart, dtd: Callable[[str], etree.DTD]) -> None:
    # Given the returned 5,000-line cart of a cXML 1.2.069 partner
    # When it is validated
    validator = dtd("1.2.069")
    # Then it is valid
    assert validator.validate(message_tree(large.document)), validator.error_log


def test_large_cart_page_fits_a_lambda_response(large: LargeCart, record_property: Any) -> None:
    # Given the return page of a 5,000-line cart
    # When the whole Lambda response (JSON, as API Gateway receives it) is measured
    size = lambda_payload_bytes(large.page)
    html_size = len(large.page["body"].encode("utf-8"))
    record_property(f"return_page_bytes_{large.encoding}", html_size)
    print(f"\n5,000-line return page ({large.encoding}): HTML {html_size:,} bytes, response {size:,} bytes")
    # Then it is below Lambda's 6 MB limit
    assert size < LAMBDA_RESPONSE_LIMIT, size
