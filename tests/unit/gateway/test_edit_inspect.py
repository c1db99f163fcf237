"""``edit`` restores the earlier cart from the ItemOut lines; ``inspect`` shows it read-only.

The buyer comes back with the lines we returned: their SupplierPartAuxiliaryID is our
``<cart ref>-<line>`` reference, which is all the gateway needs to find the earlier cart.
"""

from __future__ import annotations

import json
import time
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from punchout.cxml.models import Credential, ItemOut
from punchout.partners import CredentialRef, CredentialSet, TradingPartner, hash_secret
from punchout.store.dynamo import Table
from punchout.store.partners import PartnerRepository
from tests.support import builders
from tests.unit.gateway.helpers import (
    ReturnPage,
    Shop,
    body_json,
    cart_header,
    configure,
    expire,
    item_outs,
    line,
    message_tree,
    open_session,
    open_session_with,
    post_setup,
    register,
    setup_document,
    table_items,
)

LINES = [
    line("P-1", "2", "10.00", supplier_part_auxiliary_id="shop-red"),
    line("P-2", "1", "5.50", classification={"domain": "UNSPSC", "value": "44121700"}),
    line("P-3", "4", "0.25", unit_of_measure="BOX"),
]


@dataclass
class Earlier:
    """A cart that went back to the buyer: what the buyer's system now holds."""

    parts: list[str]
    references: list[str]
    quantities: list[Decimal]

    def item_outs(self, quantities: dict[str, str] | None = None) -> list[ItemOut]:
        quantities = quantities or {}
        return [
            builders.item_out(part, quantities.get(part, str(quantity)), auxiliary=reference, line=number)
            for number, (part, reference, quantity) in enumerate(
                zip(self.parts, self.references, self.quantities, strict=True), 1
            )
        ]


def _returned_cart(partner: TradingPartner, headers: dict[str, str], **setup: Any) -> Earlier:
    shop = Shop(headers, open_session_with(setup_document(**setup)))
    shop.put_lines(*LINES)
    tree = message_tree(ReturnPage.of(shop.checkout()).document(partner))
    items = tree.xpath("//ItemIn")
    return Earlier(
        parts=[i.xpath("string(ItemID/SupplierPartID)") for i in items],
        references=[i.xpath("string(ItemID/SupplierPartAuxiliaryID)") for i in items],
        quantities=[Decimal(i.get("quantity")) for i in items],
    )


@pytest.fixture
def earlier(partner: TradingPartner, shop_headers: dict[str, str]) -> Earlier:
    """Create → cart with 3 lines → transfer → return: the lines as the buyer received them."""
    return _returned_cart(partner, shop_headers)


def _reopen(operation: str, items: list[ItemOut], **setup: Any) -> tuple[int, str]:
    answer = post_setup(setup_document(operation, items=items, **setup))
    return answer.status.code, answer.status.message


def _reopened(shop_headers: dict[str, str], operation: str, items: list[ItemOut]) -> Shop:
    return Shop(shop_headers, open_session_with(setup_document(operation, items=items)))


def _allow(table: Table, partner: TradingPartner, operation_allowed: str) -> None:
    repository = PartnerRepository(table)
    current = repository.get(partner.id)
    assert current is not None
    repository.update(current.model_copy(update={"operation_allowed": operation_allowed}))


# --- what the partner's carts allow ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "operation"),
    [("create", "edit"), ("create", "inspect"), ("inspect", "edit")],
)
def test_reopening_beyond_what_the_partners_carts_allow_is_412(
    table: Table, partner: TradingPartner, earlier: Earlier, allowed: str, operation: str
) -> None:
    # Given a cart the buyer holds, and a partner whose carts now allow only `allowed`
    _allow(table, partner, allowed)
    # When the buyer reopens that cart with a stronger operation
    code, message = _reopen(operation, earlier.item_outs())
    # Then the precondition fails on the permission, not on the cart (which exists)
    assert code == 412
    assert message == f"This supplier's carts do not allow {operation}"


@pytest.mark.parametrize(
    ("allowed", "operation"),
    [("inspect", "inspect"), ("edit", "inspect"), ("edit", "edit")],
)
def test_reopening_within_what_the_partners_carts_allow_is_accepted(
    table: Table, partner: TradingPartner, earlier: Earlier, allowed: str, operation: str
) -> None:
    # Given a cart the buyer holds, and a partner whose carts allow `allowed` (control for the test above)
    _allow(table, partner, allowed)
    # When the buyer reopens it with that operation or a weaker one
    # Then it is accepted
    assert _reopen(operation, earlier.item_outs())[0] == 200


# --- edit -----------------------------------------------------------------------------------------


def test_an_edit_session_stores_no_list_of_the_carts_it_reopened(
    table: Table, earlier: Earlier, shop_headers: dict[str, str]
) -> None:
    # Given a returned cart
    # When the buyer edits it
    shop = _reopened(shop_headers, "edit", earlier.item_outs())
    # Then the session keeps what it restored in its cart and earlier items only: no `restored_from`,
    # which nothing read
    [item] = [i for i in table_items(table) if i["pk"]["S"] == f"SESSION#{shop.session_id}"]
    assert "restored_from" not in json.loads(item["data"]["S"])
    assert [i["restored"] for i in shop.context()["items"]] == [True, True, True]


def test_edit_restores_the_earlier_cart(earlier: Earlier, shop_headers: dict[str, str]) -> None:
    # Given a returned cart of three lines
    # When the buyer edits it, sending the three lines back
    context = _reopened(shop_headers, "edit", earlier.item_outs()).context()
    # Then the new session's cart holds those lines, with our prices
    cart = context["cart"]
    assert [ln["supplier_part_id"] for ln in cart["lines"]] == ["P-1", "P-2", "P-3"]
    assert [Decimal(ln["unit_price"]) for ln in cart["lines"]] == [Decimal("10.00"), Decimal("5.50"), Decimal("0.25")]
    assert context["operation"] == "edit"
    assert context["read_only"] is False


def test_edit_takes_quantities_from_the_item_out(earlier: Earlier, shop_headers: dict[str, str]) -> None:
    # Given a returned cart, and a buyer who changed the quantity of P-2 during approval
    items = earlier.item_outs({"P-2": "7"})
    # When the buyer edits it
    cart = _reopened(shop_headers, "edit", items).context()["cart"]
    # Then the restored quantities are the buyer's
    assert [Decimal(ln["quantity"]) for ln in cart["lines"]] == [Decimal(2), Decimal(7), Decimal(4)]


@pytest.mark.parametrize("quantity", ["1.1234567", "12345678901234567", "0"])
def test_edit_keeps_the_carts_quantity_when_the_item_outs_cannot_be_a_cart_line(
    earlier: Earlier, shop_headers: dict[str, str], quantity: str
) -> None:
    # Given a returned cart, and an ItemOut whose quantity no cart line may hold
    items = earlier.item_outs({"P-2": quantity})
    # When the buyer edits it
    shop = _reopened(shop_headers, "edit", items)
    # Then the session works, with the cart's own quantity for that line, and can go back to the buyer
    cart = shop.context()["cart"]
    assert [Decimal(ln["quantity"]) for ln in cart["lines"]] == [Decimal(2), Decimal(1), Decimal(4)]
    assert shop.transfer()["statusCode"] == 200


def test_edit_keeps_the_shops_own_auxiliary_id(earlier: Earlier, shop_headers: dict[str, str]) -> None:
    # Given a returned cart whose first line had the shop's auxiliary id "shop-red"
    # When the buyer edits it
    cart = _reopened(shop_headers, "edit", earlier.item_outs()).context()["cart"]
    # Then the restored line carries the shop's id again (ours was only on the wire)
    assert [ln["supplier_part_auxiliary_id"] for ln in cart["lines"]] == ["shop-red", None, None]
    assert [ln["unit_of_measure"] for ln in cart["lines"]] == ["EA", "EA", "BOX"]


def test_edit_flags_the_restored_items(earlier: Earlier, shop_headers: dict[str, str]) -> None:
    # Given a returned cart
    items = [*earlier.item_outs(), builders.item_out("P-NEW", "1", auxiliary="something-else")]
    # When the buyer edits it, adding a line we never returned
    context = _reopened(shop_headers, "edit", items).context()
    # Then the session lists every ItemOut, flagging which were restored
    flags = [(i["supplier_part_id"], i["restored"]) for i in context["items"]]
    assert flags == [("P-1", True), ("P-2", True), ("P-3", True), ("P-NEW", False)]
    assert [i["supplier_part_auxiliary_id"] for i in context["items"]][:3] == earlier.references


def test_edit_of_a_subset_restores_only_those_lines(earlier: Earlier, shop_headers: dict[str, str]) -> None:
    # Given a returned cart from which the approver removed P-1
    items = earlier.item_outs()[1:]
    # When the buyer edits it
    cart = _reopened(shop_headers, "edit", items).context()["cart"]
    # Then only the remaining lines come back
    assert [ln["supplier_part_id"] for ln in cart["lines"]] == ["P-2", "P-3"]


def test_edited_cart_can_be_changed_and_returned(
    earlier: Earlier, shop_headers: dict[str, str], partner: TradingPartner
) -> None:
    # Given an edit session with the restored cart
    shop = _reopened(shop_headers, "edit", earlier.item_outs())
    restored = shop.context()["cart"]
    # When the shop adds a line and returns the cart
    shop.put_lines(*restored["lines"], line("P-4", "1", "1.00"))
    tree = message_tree(ReturnPage.of(shop.checkout()).document(partner))
    # Then the buyer gets four lines under a new cart reference
    references = tree.xpath("//ItemIn/ItemID/SupplierPartAuxiliaryID/text()")
    assert len(references) == 4
    assert not set(references) & set(earlier.references)


def test_edit_with_a_part_id_that_does_not_match_the_reference_is_not_restored(
    earlier: Earlier, shop_headers: dict[str, str]
) -> None:
    # Given a returned cart, and an ItemOut pairing our reference of line 1 with another part
    items = earlier.item_outs()
    items[0] = builders.item_out("P-OTHER", "1", auxiliary=earlier.references[0])
    # When the buyer edits
    context = _reopened(shop_headers, "edit", items).context()
    # Then that line is not restored; the others are
    assert [ln["supplier_part_id"] for ln in context["cart"]["lines"]] == ["P-2", "P-3"]
    assert context["items"][0]["restored"] is False


def test_edit_with_only_unknown_references_is_412(earlier: Earlier) -> None:
    # Given ItemOut lines whose auxiliary ids are not our references, or refer to no cart
    items = [
        builders.item_out("P-1", "1", auxiliary="not-ours"),
        builders.item_out("P-2", "1", auxiliary="abcdefghijklmnop-1"),
        builders.item_out("P-3", "1"),
    ]
    # When the buyer edits
    code, _ = _reopen("edit", items)
    # Then the precondition fails: there is no cart to edit
    assert code == 412


def test_an_edit_naming_one_unknown_cart_on_every_line_looks_it_up_once(dynamodb_keys: list[str], partner: Any) -> None:
    # Given a requisition of 200 lines that all name one cart we no longer have (past its retention)
    items = [builders.item_out(f"P-{n}", "1", auxiliary=f"abcdefghijklmnop-{n}") for n in range(1, 201)]
    # When the buyer edits it
    code, _ = _reopen("edit", items)
    # Then the cart is looked up once, and the answer is 412 at once
    assert code == 412
    assert len([key for key in dynamodb_keys if "abcdefghijklmnop" in key]) == 1


# The carts one edit or inspect reads (README, Security): each is a table read before the buyer is answered.
DOCUMENTED_RESTORED_CARTS = 100


@pytest.mark.parametrize("operation", ["edit", "inspect"])
def test_an_edit_naming_more_carts_than_the_limit_reads_that_many(
    dynamodb_keys: list[str], partner: Any, earlier: Earlier, operation: str
) -> None:
    # Given a requisition whose first 150 lines each name another cart (5,000 such lines took 8 s here, one
    # table read each: 40,000 fit in the body), and whose last lines are those of a cart the buyer holds
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    refs = [alphabet[n // 32] + alphabet[n % 32] + "cdefghijklmnop" for n in range(150)]
    items = [builders.item_out(f"P-{n}", "1", auxiliary=f"{ref}-1") for n, ref in enumerate(refs)]
    dynamodb_keys.clear()
    # When the buyer reopens it
    code, message = _reopen(operation, [*items, *earlier.item_outs()])
    # Then only the first carts it names are read, and the cart past them is not restored
    read = {ref for ref in refs if any(ref in key for key in dynamodb_keys)}
    assert read == set(refs[:DOCUMENTED_RESTORED_CARTS])
    assert (code, message.split(":")[0]) == (412, f"The cart to {operation} was not found")


def test_an_edit_stops_reading_carts_once_their_lines_reach_the_limit(
    monkeypatch: pytest.MonkeyPatch, partner: TradingPartner, shop_headers: dict[str, str], earlier: Earlier
) -> None:
    # Given two returned carts of three lines, and a limit of three cart lines read in all (10,000 as deployed:
    # each cart is read whole, up to 5,000 lines, and 100 of them would not fit the function's memory)
    from setup_request import service

    second = _returned_cart(partner, shop_headers)
    monkeypatch.setattr(service, "MAX_CART_LINES_READ", 3)
    # When the buyer edits a requisition holding the lines of both
    context = _reopened(shop_headers, "edit", [*earlier.item_outs(), *second.item_outs()]).context()
    # Then the first cart, which reaches the limit, is restored, and the second is not read
    assert [line["supplier_part_auxiliary_id"] for line in context["cart"]["lines"]] == ["shop-red", None, None]
    assert [item["restored"] for item in context["items"]] == [True] * 3 + [False] * 3


@pytest.mark.parametrize("lines", ["still stored", "deleted by TTL"])
def test_edit_of_an_expired_cart_is_412(table: Table, earlier: Earlier, lines: str) -> None:
    # Given a returned cart past its expiry whose header DynamoDB's TTL has not deleted yet (TTL
    # deletes within days, and the header and its line items separately)
    expire(table, "CART#", "CART")
    if lines == "deleted by TTL":
        for item in table_items(table):
            if item["pk"]["S"].startswith("CART#") and item["sk"]["S"].startswith("LINES#"):
                table.client.delete_item(TableName=table.name, Key={"pk": item["pk"], "sk": item["sk"]})
    # When the buyer edits it
    # Then it is not found, as if TTL had deleted it: 412, neither restored nor a 500, with a text the
    # buyer's administrator can act on (what was looked for, how long carts are kept, what to do instead)
    code, text = _reopen("edit", earlier.item_outs())
    assert code == 412
    assert text.startswith("The cart to edit was not found: ")
    assert "SupplierPartAuxiliaryID" in text and "180 days" in text and "operation create" in text


@pytest.mark.parametrize(("number", "part"), [(4, "P-1"), (9, "P-1"), (0, "P-3")], ids=["next", "far", "zero"])
def test_edit_with_a_line_number_outside_the_cart_is_412(earlier: Earlier, number: int, part: str) -> None:
    # Given a reference to a line a three-line cart does not have (line 0 is not the last line, P-3)
    cart_ref = earlier.references[0].rsplit("-", 1)[0]
    items = [builders.item_out(part, "1", auxiliary=f"{cart_ref}-{number}")]
    # When the buyer edits
    # Then nothing is restored: 412
    assert _reopen("edit", items)[0] == 412


def test_an_auxiliary_id_that_only_starts_with_our_reference_is_not_ours(earlier: Earlier) -> None:
    # Given the returned lines, their auxiliary ids our references with something after them
    items = [
        builders.item_out(part, "1", auxiliary=f"{reference}-red")
        for part, reference in zip(earlier.parts, earlier.references, strict=True)
    ]
    # When the buyer edits
    # Then none is read as a line of our cart: 412
    assert _reopen("edit", items)[0] == 412


def test_a_restored_cart_is_kept_for_the_cart_retention(
    table: Table, earlier: Earlier, shop_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given carts kept 30 days
    configure(monkeypatch, CART_RETENTION_DAYS="30")
    # When the buyer edits a returned cart
    shop = _reopened(shop_headers, "edit", earlier.item_outs())
    # Then the restored cart expires in 30 days like any stored cart, not with its session: a later
    # OrderRequest or edit of it must still find it
    expires_at = int(cart_header(table, shop.session_id)["expires_at"]["N"])
    assert 30 * 86400 - 60 <= expires_at - time.time() <= 30 * 86400


def test_another_partners_cart_cannot_be_edited(table: Table, earlier: Earlier, shop_headers: dict[str, str]) -> None:
    # Given a cart returned to acme, and a second partner with its own credentials
    register(
        table,
        partner_id="globex",
        credentials={
            "production": CredentialSet(
                from_credentials=[CredentialRef(domain="DUNS", identity="987654321")],
                secret_hashes=[hash_secret("globex secret", iterations=1000)],
            )
        },
    )
    header = builders.header(domain="DUNS", identity="987654321", secret="globex secret")
    # When the second partner sends acme's references in an edit
    answer = post_setup(setup_document("edit", items=earlier.item_outs(), header=header))
    # Then the precondition fails, exactly as for unknown references
    assert answer.status.code == 412
    assert answer.status.message == _reopen("edit", [builders.item_out("X", "1", auxiliary="zzzzzzzzzzzzzzzz-1")])[1]


def test_another_partner_can_open_a_create_session(table: Table, earlier: Earlier) -> None:
    # Given a second partner (control for the test above: its credentials work)
    register(
        table,
        partner_id="globex",
        credentials={
            "production": CredentialSet(
                from_credentials=[CredentialRef(domain="DUNS", identity="987654321")],
                secret_hashes=[hash_secret("globex secret", iterations=1000)],
            )
        },
    )
    header = builders.header(domain="DUNS", identity="987654321", secret="globex secret")
    # When it opens a create session
    # Then it is accepted
    assert post_setup(setup_document(header=header)).status.code == 200


@pytest.mark.parametrize("operation", ["edit", "inspect"])
def test_the_same_partners_other_mode_finds_no_cart(earlier: Earlier, operation: str) -> None:
    # Given a cart returned in production, and the same partner coming back through its test system
    header = builders.header(identity=builders.BUYER_IDENTITY + "-T", secret=builders.SECRET + " test")
    body = setup_document(operation, items=earlier.item_outs(), header=header, mode="test")
    # When it reopens the production cart
    answer = post_setup(body)
    # Then the precondition fails, exactly as for unknown references: test and production are apart (a
    # test system copied from production holds production's requisitions, and their references)
    unknown = [builders.item_out("X", "1", auxiliary="zzzzzzzzzzzzzzzz-1")]
    assert answer.status.code == 412
    assert (
        answer.status.message
        == post_setup(setup_document(operation, items=unknown, header=header, mode="test")).status.message
    )


# --- inspect --------------------------------------------------------------------------------------


def test_inspect_restores_the_cart_read_only(earlier: Earlier, shop_headers: dict[str, str]) -> None:
    # Given a returned cart
    # When the buyer inspects it
    context = _reopened(shop_headers, "inspect", earlier.item_outs()).context()
    # Then the session shows the cart, read-only
    assert context["operation"] == "inspect"
    assert context["read_only"] is True
    assert [ln["supplier_part_id"] for ln in context["cart"]["lines"]] == ["P-1", "P-2", "P-3"]


def test_put_in_an_inspect_session_is_409(earlier: Earlier, shop_headers: dict[str, str]) -> None:
    # Given an inspect session
    shop = _reopened(shop_headers, "inspect", earlier.item_outs())
    # When the shop tries to change the cart
    response = shop.put({"lines": [line("P-9")]})
    # Then it conflicts, and the cart is unchanged
    assert response["statusCode"] == 409
    assert "read-only" in body_json(response)["error"]["message"]
    assert len(shop.context()["cart"]["lines"]) == 3


def test_inspect_with_unknown_references_is_412(earlier: Earlier) -> None:
    # Given ItemOut lines that refer to no cart of ours
    items = [builders.item_out("P-1", "1", auxiliary="zzzzzzzzzzzzzzzz-1")]
    # When the buyer inspects
    # Then the precondition fails
    assert _reopen("inspect", items)[0] == 412


def test_inspect_without_browser_form_post_is_accepted(earlier: Earlier, shop_headers: dict[str, str]) -> None:
    # Given a partner without a default return URL
    # When the buyer inspects without BrowserFormPost (nothing will come back)
    shop = Shop(
        shop_headers, open_session_with(setup_document("inspect", items=earlier.item_outs(), browser_form_post=None))
    )
    # Then the session opens, but the cart cannot be transferred anywhere
    assert shop.context()["read_only"] is True
    assert shop.transfer()["statusCode"] == 409


def test_edit_header_credentials_are_not_kept_with_secrets(
    earlier: Earlier, shop_headers: dict[str, str], table: Table
) -> None:
    # Given an edit whose To credential oddly carries a secret
    header = builders.header().model_copy(
        update={"to_credentials": [Credential(domain="DUNS", identity="123456789", shared_secret="to-secret-xyz")]}  # type: ignore[arg-type]
    )
    # When the session is opened
    open_session_with(setup_document("edit", items=earlier.item_outs(), header=header))
    # Then no item stores that secret
    from tests.unit.gateway.helpers import item_text, table_items

    assert not any("to-secret-xyz" in item_text(item) for item in table_items(table))


def test_an_edit_restores_the_lines_of_one_currency_only(partner: TradingPartner, shop_headers: dict[str, str]) -> None:
    # Given two returned carts, one in EUR and one in USD
    parts: list[ItemOut] = []
    for number, (part, currency) in enumerate((("P-EUR", "EUR"), ("P-USD", "USD")), 1):
        shop = Shop(shop_headers, open_session_with(setup_document()))
        tree = message_tree(ReturnPage.of(shop.checkout(line(part, "1", "10.00"), currency=currency)).document(partner))
        reference = tree.xpath("string(//ItemIn/ItemID/SupplierPartAuxiliaryID)")
        parts.append(builders.item_out(part, "1", auxiliary=reference, line=number))
    # When the buyer edits a requisition holding a line of each
    context = _reopened(shop_headers, "edit", parts).context()
    # Then the first cart's line is restored in its currency, the other is listed but not restored (its
    # price would have been relabelled in the wrong currency)
    assert [(ln["supplier_part_id"], context["cart"]["currency"]) for ln in context["cart"]["lines"]] == [
        ("P-EUR", "EUR")
    ]
    assert [(i["supplier_part_id"], i["restored"]) for i in context["items"]] == [("P-EUR", True), ("P-USD", False)]


def test_edit_restores_a_line_whose_part_id_has_surrounding_whitespace(
    partner: TradingPartner, shop_headers: dict[str, str]
) -> None:
    # Given a returned cart whose part id ends in a space (the shop API takes it)
    shop = Shop(shop_headers, open_session()[0])
    document = shop.checkout(line("P1 ", "2", "3.00"))
    returned = ReturnPage.of(document).document(partner)
    # When the buyer edits it, sending the line back as it received it
    reopened = _reopened(shop_headers, "edit", item_outs(returned))
    # Then the line is restored, not refused as a cart never seen (412)
    [restored] = reopened.context()["cart"]["lines"]
    assert (restored["supplier_part_id"], restored["quantity"]) == ("P1 ", "2")


def test_edit_restores_a_line_whose_part_id_the_buyer_sent_back_decomposed(
    partner: TradingPartner, shop_headers: dict[str, str]
) -> None:
    # Given a returned cart whose part id holds an accented letter, composed (NFC, as most shops store it)
    part = unicodedata.normalize("NFC", "CAFÉ-1")
    shop = Shop(shop_headers, open_session()[0])
    returned = ReturnPage.of(shop.checkout(line(part, "2", "3.00"))).document(partner)
    # When the buyer's system sends it back decomposed (NFD: "E" and a combining acute accent)
    [item] = item_outs(returned)
    decomposed = unicodedata.normalize("NFD", part)
    assert decomposed != part
    item = item.model_copy(update={"item_id": item.item_id.model_copy(update={"supplier_part_id": decomposed})})
    reopened = _reopened(shop_headers, "edit", [item])
    # Then the line is restored as the cart held it: the same characters, not a cart never seen (412)
    [restored] = reopened.context()["cart"]["lines"]
    assert (restored["supplier_part_id"], restored["quantity"]) == (part, "2")
