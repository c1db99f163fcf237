"""Hypothesis strategies for valid cXML models: what the gateway could render and read back.

"Valid" means what the strict writer renders and the DTD accepts: names on Extrinsics, at least
one Description and Classification per ItemDetail, BillTo on orders, a quantity on every line.
Text has no surrounding whitespace (the reader strips it) and only characters XML 1.0 allows.
For 1.2.014 the models have no Municipality and at most one Comments in an order header: that
DTD has neither, and the writer folds them (tested on their own in test_writer.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import strategies as st
from pydantic import SecretStr

from punchout.cxml.models import (
    Accounting,
    AccountingSegment,
    Address,
    BillTo,
    Classification,
    Comments,
    Contact,
    Credential,
    Description,
    Distribution,
    DocumentReference,
    Envelope,
    Extrinsic,
    Header,
    ItemDetail,
    ItemID,
    ItemIn,
    ItemOut,
    MessageDocument,
    Money,
    Option,
    OrderRequest,
    OrderRequestHeader,
    Payment,
    PCard,
    Phone,
    PostalAddress,
    ProfileRequest,
    ProfileResponse,
    PunchOutOrderMessage,
    PunchOutOrderMessageHeader,
    PunchOutSetupRequest,
    PunchOutSetupResponse,
    RequestDocument,
    ResponseDocument,
    Shipping,
    ShipTo,
    Status,
    Tax,
    TelephoneNumber,
    Timestamp,
    Transaction,
)
from tests.support.fuzz import XML_CHARACTERS

# --- primitives ------------------------------------------------------------------------------------

# Non-empty, no leading or trailing whitespace (Python's idea of it, which is what the reader strips).
text = st.text(XML_CHARACTERS, min_size=1, max_size=24).map(str.strip).filter(bool)
# Text that may be empty where the reader keeps "" as "".
maybe_empty_text = st.one_of(st.just(""), text)

langs = st.sampled_from(["en", "en-US", "de-DE", "fr", "fr-FR", "ja-JP"])
currencies = st.sampled_from(["USD", "EUR", "GBP", "CHF", "JPY", "SEK"])
country_codes = st.sampled_from(["US", "DE", "FR", "GB", "CH", "JP"])
# Contact@role is a real NMTOKEN in the DTD.
nmtokens = st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,15}", fullmatch=True)
# URLs and IDs as buyers send them: no whitespace inside either.
urls = st.builds(
    lambda host, path: f"https://{host}.example/{path}",
    st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_./?=&-]{0,24}", fullmatch=True),
)


def decimals(*, minimum: int = -(10**9), maximum: int = 10**12) -> st.SearchStrategy[Decimal]:
    """Finite Decimals with at most 6 decimal places, some in exponent form (``5E+3``)."""
    return st.builds(
        lambda digits, exponent: Decimal(digits).scaleb(exponent),
        st.integers(minimum, maximum),
        st.integers(-6, 3),
    )


quantities = st.builds(lambda digits, places: Decimal(digits).scaleb(-places), st.integers(1, 10**6), st.integers(0, 3))

# Aware, second precision, whole-minute offsets (the writer renders +HH:MM).
zones = st.integers(-12 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
timestamps = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=zones).map(
    lambda value: Timestamp.of(value.replace(microsecond=0))
)
dates = st.dates(min_value=datetime(2000, 1, 1).date(), max_value=datetime(2099, 12, 31).date()).map(str)


@st.composite
def money(draw: st.DrawFn) -> Money:
    alternate = draw(st.none() | decimals())
    return Money(
        amount=draw(decimals()),
        currency=draw(currencies),
        alternate_amount=alternate,
        alternate_currency=draw(currencies) if alternate is not None else None,
    )


descriptions = st.builds(Description, text=maybe_empty_text, lang=langs, short_name=st.none() | text)
extrinsics = st.builds(Extrinsic, name=text, value=maybe_empty_text)
classifications = st.builds(Classification, domain=text, value=text)


def credentials(*, secret: bool) -> st.SearchStrategy[Credential]:
    return st.builds(
        Credential,
        domain=text,
        identity=text,
        shared_secret=st.builds(SecretStr, text) if secret else st.none(),
        type=st.sampled_from([None, "marketplace"]),
    )


def headers(*, secret: bool = True) -> st.SearchStrategy[Header]:
    return st.builds(
        Header,
        from_credentials=st.lists(credentials(secret=False), min_size=1, max_size=2),
        to_credentials=st.lists(credentials(secret=False), min_size=1, max_size=2),
        sender_credentials=st.lists(credentials(secret=secret), min_size=1, max_size=1),
        user_agent=maybe_empty_text,
    )


def envelopes(version: str) -> st.SearchStrategy[Envelope]:
    return st.builds(Envelope, payload_id=text, timestamp=timestamps, version=st.just(version), lang=langs)


# --- addresses and contacts -----------------------------------------------------------------------

phones = st.builds(
    Phone,
    name=st.none() | text,
    telephone_number=st.builds(
        TelephoneNumber,
        country_code=text,
        iso_country_code=country_codes,
        area_or_city_code=maybe_empty_text,
        number=text,
        extension=st.none() | text,
    ),
)


def postal_addresses(version: str) -> st.SearchStrategy[PostalAddress]:
    return st.builds(
        PostalAddress,
        name=st.none() | text,
        deliver_to=st.lists(text, max_size=2),
        street=st.lists(text, min_size=1, max_size=2),
        city=text,
        municipality=st.none() if version == "1.2.014" else st.none() | text,
        state=st.none() | text,
        postal_code=st.none() | text,
        country=text,
        iso_country_code=country_codes,
    )


def addresses(version: str) -> st.SearchStrategy[Address]:
    return st.builds(
        Address,
        name=text,
        name_lang=langs,
        address_id=st.none() | text,
        iso_country_code=st.none() | country_codes,
        postal_address=st.none() | postal_addresses(version),
        email=st.none() | text,
        phone=st.none() | phones,
        url=st.none() | urls,
    )


def ship_tos(version: str) -> st.SearchStrategy[ShipTo]:
    return st.builds(ShipTo, address=addresses(version))


def contacts(version: str) -> st.SearchStrategy[Contact]:
    return st.builds(
        Contact,
        role=st.none() | nmtokens,
        name=text,
        name_lang=langs,
        postal_addresses=st.lists(postal_addresses(version), max_size=1),
        emails=st.lists(text, max_size=2),
        phones=st.lists(phones, max_size=1),
        urls=st.lists(urls, max_size=1),
    )


shippings = st.builds(
    Shipping,
    money=money(),
    description=descriptions,
    tracking_domain=st.none() | text,
    tracking_id=st.none() | text,
)
taxes = st.builds(Tax, money=money(), description=descriptions)
comments = st.builds(Comments, text=maybe_empty_text, lang=st.none() | langs, attachments=st.lists(urls, max_size=2))

# --- lines ----------------------------------------------------------------------------------------

item_ids = st.builds(ItemID, supplier_part_id=text, supplier_part_auxiliary_id=st.none() | text)
item_details = st.builds(
    ItemDetail,
    unit_price=money(),
    descriptions=st.lists(descriptions, min_size=1, max_size=2),
    unit_of_measure=st.sampled_from(["EA", "BX", "PK", "KGM", "MTR"]),
    classifications=st.lists(classifications, min_size=1, max_size=2),
    manufacturer_part_id=st.none() | text,
    manufacturer_name=st.none() | text,
    url=st.none() | urls,
    lead_time=st.none() | st.integers(0, 365),
    extrinsics=st.lists(extrinsics, max_size=2),
)
distributions = st.builds(
    Distribution,
    accounting=st.builds(
        Accounting,
        name=text,
        segments=st.lists(
            st.builds(AccountingSegment, id=text, type=maybe_empty_text, description=maybe_empty_text),
            min_size=1,
            max_size=2,
        ),
    ),
    charge=money(),
)
line_numbers = st.none() | st.integers(0, 10**6)


def item_outs(version: str) -> st.SearchStrategy[ItemOut]:
    return st.builds(
        ItemOut,
        quantity=quantities,
        line_number=line_numbers,
        requested_delivery_date=st.none() | timestamps,
        item_id=item_ids,
        item_detail=st.none() | item_details,
        ship_to=st.none() | ship_tos(version),
        shipping=st.none() | shippings,
        tax=st.none() | taxes,
        distributions=st.lists(distributions, max_size=2),
        contacts=st.lists(contacts(version), max_size=1),
        comments=st.none() | comments,
    )


def item_ins(version: str) -> st.SearchStrategy[ItemIn]:
    return st.builds(
        ItemIn,
        quantity=quantities,
        line_number=line_numbers,
        item_id=item_ids,
        item_detail=item_details,
        ship_to=st.none() | ship_tos(version),
        shipping=st.none() | shippings,
        tax=st.none() | taxes,
    )


# --- payloads and documents ------------------------------------------------------------------------


def setup_requests(version: str) -> st.SearchStrategy[PunchOutSetupRequest]:
    return st.builds(
        PunchOutSetupRequest,
        operation=st.sampled_from(["create", "edit", "inspect", "source"]),
        buyer_cookie=text,
        extrinsics=st.lists(extrinsics, max_size=3),
        browser_form_post=st.none() | urls,
        contacts=st.lists(contacts(version), max_size=2),
        supplier_setup_url=st.none() | urls,
        ship_to=st.none() | ship_tos(version),
        selected_item=st.none() | item_ids,
        items=st.lists(item_outs(version), max_size=2),
    )


def order_requests(version: str) -> st.SearchStrategy[OrderRequest]:
    header = st.builds(
        OrderRequestHeader,
        order_id=text,
        order_date=timestamps,
        type=st.sampled_from(["new", "update", "delete"]),
        order_version=st.none() | st.integers(1, 99),
        total=money(),
        ship_to=st.none() | ship_tos(version),
        bill_to=st.builds(BillTo, address=addresses(version)),
        shipping=st.none() | shippings,
        tax=st.none() | taxes,
        # A Payment without a PCard has nothing the DTD allows: the writer leaves it out.
        payment=st.none()
        | st.builds(
            Payment,
            pcard=st.builds(
                PCard, number=st.from_regex(r"[0-9]{13,19}", fullmatch=True), expiration=dates, name=st.none() | text
            ),
        ),
        contacts=st.lists(contacts(version), max_size=2),
        comments=st.lists(comments, max_size=1 if version == "1.2.014" else 2),
        document_reference=st.none() | st.builds(DocumentReference, payload_id=text),
        extrinsics=st.lists(extrinsics, max_size=2),
    )
    return st.builds(OrderRequest, header=header, items=st.lists(item_outs(version), min_size=1, max_size=2))


def order_messages(version: str) -> st.SearchStrategy[PunchOutOrderMessage]:
    return st.builds(
        PunchOutOrderMessage,
        buyer_cookie=text,
        header=st.builds(
            PunchOutOrderMessageHeader,
            operation_allowed=st.sampled_from(["create", "edit", "inspect"]),
            quote_status=st.sampled_from([None, "pending", "final"]),
            total=money(),
            ship_to=st.none() | ship_tos(version),
            shipping=st.none() | shippings,
            tax=st.none() | taxes,
            supplier_order_id=st.none() | text,
        ),
        items=st.lists(item_ins(version), max_size=2),
    )


options = st.builds(Option, name=text, value=maybe_empty_text)
profile_responses = st.builds(
    ProfileResponse,
    effective_date=timestamps,
    last_refresh=st.none() | timestamps,
    options=st.lists(options, max_size=2),
    transactions=st.lists(
        st.builds(
            Transaction,
            request_name=st.sampled_from(["PunchOutSetupRequest", "OrderRequest", "ProfileRequest"]),
            url=urls,
            options=st.lists(options, max_size=2),
        ),
        min_size=1,
        max_size=3,
    ),
)
statuses = st.builds(
    Status,
    code=st.sampled_from([200, 201, 204, 400, 401, 403, 406, 409, 412, 417, 450, 500, 560]),
    text=text,
    message=maybe_empty_text,
    lang=st.none() | langs,
)
deployment_modes = st.sampled_from(["production", "test"])


def request_documents(version: str, payloads: st.SearchStrategy[object]) -> st.SearchStrategy[RequestDocument]:
    return st.builds(
        RequestDocument,
        envelope=envelopes(version),
        header=headers(),
        deployment_mode=deployment_modes,
        request=payloads,
    )


def documents(version: str, kind: str) -> st.SearchStrategy[RequestDocument | MessageDocument | ResponseDocument]:
    """Valid documents of one ``kind`` for cXML ``version``, with ``envelope.version`` already set."""
    if kind == "PunchOutSetupRequest":
        return request_documents(version, setup_requests(version))
    if kind == "OrderRequest":
        return request_documents(version, order_requests(version))
    if kind == "ProfileRequest":
        return request_documents(version, st.just(ProfileRequest()))
    if kind == "PunchOutOrderMessage":
        # The cart travels through the browser: never a SharedSecret in its header.
        return st.builds(
            MessageDocument,
            envelope=envelopes(version),
            header=headers(secret=False),
            deployment_mode=deployment_modes,
            in_reply_to=st.none() | text,
            status=st.none() | statuses,
            message=order_messages(version),
        )
    if kind == "Response":
        return st.builds(ResponseDocument, envelope=envelopes(version), status=statuses, response=st.none())
    if kind == "PunchOutSetupResponse":
        return st.builds(
            ResponseDocument,
            envelope=envelopes(version),
            status=statuses,
            response=st.builds(PunchOutSetupResponse, start_page_url=urls),
        )
    if kind == "ProfileResponse":
        return st.builds(ResponseDocument, envelope=envelopes(version), status=statuses, response=profile_responses)
    raise ValueError(kind)


KINDS = (
    "PunchOutSetupRequest",
    "OrderRequest",
    "ProfileRequest",
    "PunchOutOrderMessage",
    "Response",
    "PunchOutSetupResponse",
    "ProfileResponse",
)
