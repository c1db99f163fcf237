"""Builders for test data: trading partners with known secrets and cXML requests rendered by our writer."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from punchout.cxml import new_envelope, render
from punchout.cxml.models import (
    Address,
    BillTo,
    Classification,
    Comments,
    Contact,
    Credential,
    Description,
    DocumentReference,
    Extrinsic,
    Header,
    ItemDetail,
    ItemID,
    ItemOut,
    Money,
    OrderRequest,
    OrderRequestHeader,
    PostalAddress,
    ProfileRequest,
    PunchOutSetupRequest,
    RequestDocument,
    ShipTo,
    Timestamp,
)
from punchout.partners import Classification as PartnerClassification
from punchout.partners import CredentialRef, CredentialSet, TradingPartner, hash_secret

SECRET = "correct horse battery staple"
BUYER_DOMAIN = "NetworkID"
BUYER_IDENTITY = "AN01000000001"
SUPPLIER = Credential(domain="DUNS", identity="123456789")
RETURN_URL = "https://buyer.example.com/punchout/return?session=42"


def partner(partner_id: str = "acme", **changes: Any) -> TradingPartner:
    fields: dict[str, Any] = {
        "id": partner_id,
        "name": "Acme Procurement",
        "credentials": {
            "production": CredentialSet(
                from_credentials=[CredentialRef(domain=BUYER_DOMAIN, identity=BUYER_IDENTITY)],
                secret_hashes=[hash_secret(SECRET, iterations=1000)],
            ),
            "test": CredentialSet(
                from_credentials=[CredentialRef(domain=BUYER_DOMAIN, identity=BUYER_IDENTITY + "-T")],
                secret_hashes=[hash_secret(SECRET + " test", iterations=1000)],
            ),
        },
        "browser_form_post_hosts": ["buyer.example.com"],
        "shop_url": "https://shop.example.com/punchout?store=1",
        "default_classification": PartnerClassification(value="44120000"),
    }
    fields.update(changes)
    return TradingPartner(**fields)


def header(
    *,
    domain: str = BUYER_DOMAIN,
    identity: str = BUYER_IDENTITY,
    secret: str | None = SECRET,
    sender: Credential | None = None,
) -> Header:
    return Header(
        from_credentials=[Credential(domain=domain, identity=identity)],
        to_credentials=[SUPPLIER],
        sender_credentials=[sender or Credential(domain=domain, identity=identity, shared_secret=secret)],  # type: ignore[arg-type]
        user_agent="Test Buyer 1.0",
    )


def ship_to() -> ShipTo:
    return ShipTo(
        address=Address(
            name="Acme HQ",
            postal_address=PostalAddress(
                deliver_to=["Jane Buyer"],
                street=["1 Main St"],
                city="Springfield",
                state="IL",
                postal_code="62701",
                country="United States",
                iso_country_code="US",
            ),
            email="receiving@acme.example",
        )
    )


def setup_request(
    operation: str = "create",
    *,
    browser_form_post: str | None = RETURN_URL,
    items: list[ItemOut] | None = None,
    mode: str = "production",
    buyer_cookie: str = "  cookie-1234 <&> ",
    extrinsics: list[Extrinsic] | None = None,
    **header_changes: Any,
) -> bytes:
    """A PunchOutSetupRequest; ``extrinsics`` are added after the user's (UserEmail, UniqueName, CostCenter)."""
    document = RequestDocument(
        envelope=new_envelope("buyer.example.com"),
        header=header(**header_changes),
        deployment_mode=mode,  # type: ignore[arg-type]
        request=PunchOutSetupRequest(
            operation=operation,  # type: ignore[arg-type]
            buyer_cookie=buyer_cookie,
            extrinsics=[
                Extrinsic(name="UserEmail", value="jane.buyer@acme.example"),
                Extrinsic(name="UniqueName", value="jbuyer"),
                Extrinsic(name="CostCenter", value="CC-100"),
                *(extrinsics or []),
            ],
            browser_form_post=browser_form_post,
            contacts=[Contact(role="endUser", name="Jane Buyer", emails=["jane.buyer@acme.example"])],
            ship_to=ship_to(),
            items=items or [],
        ),
    )
    return render(document, "1.2.069")


def profile_request(**header_changes: Any) -> bytes:
    return render(
        RequestDocument(envelope=new_envelope(), header=header(**header_changes), request=ProfileRequest()),
        "1.2.014",
    )


def item_out(
    part: str,
    quantity: str,
    *,
    auxiliary: str | None = None,
    price: str | None = None,
    line: int | None = None,
) -> ItemOut:
    detail = (
        ItemDetail(
            unit_price=Money(amount=Decimal(price), currency="USD"),
            descriptions=[Description(text=f"Part {part}")],
            unit_of_measure="EA",
            classifications=[Classification(domain="UNSPSC", value="44120000")],
        )
        if price is not None
        else None
    )
    return ItemOut(
        quantity=Decimal(quantity),
        line_number=line,
        item_id=ItemID(supplier_part_id=part, supplier_part_auxiliary_id=auxiliary),
        item_detail=detail,
    )


def order_request(
    order_id: str,
    items: list[ItemOut],
    *,
    order_type: str = "new",
    version: int | None = 1,
    reference: str | None = None,
    total: str = "100.00",
    comments: list[Comments] | None = None,
    mode: str = "production",
    payload_id: str | None = None,
    **header_changes: Any,
) -> bytes:
    envelope = new_envelope("buyer.example.com")
    document = RequestDocument(
        envelope=envelope if payload_id is None else envelope.model_copy(update={"payload_id": payload_id}),
        header=header(**header_changes),
        deployment_mode=mode,  # type: ignore[arg-type]
        request=OrderRequest(
            header=OrderRequestHeader(
                order_id=order_id,
                order_date=Timestamp.of(datetime(2026, 11, 26, 10, 0, tzinfo=UTC)),
                type=order_type,  # type: ignore[arg-type]
                order_version=version,
                total=Money(amount=Decimal(total), currency="USD"),
                ship_to=ship_to(),
                bill_to=BillTo(address=ship_to().address),
                document_reference=DocumentReference(payload_id=reference) if reference else None,
                comments=comments or [],
            ),
            items=items,
        ),
    )
    return render(document, "1.2.014")


def large_cart_lines(count: int = 5000) -> list[dict[str, Any]]:
    """Shop cart lines (JSON) with realistic, poorly compressible content: ~100-character descriptions
    with random parts, so chunking is tested on sizes a real catalogue produces."""
    return [
        {
            "supplier_part_id": f"SKU-{n:06d}-{secrets.token_hex(4)}",
            "quantity": str(1 + n % 7),
            "unit_price": f"{(n % 997) + 0.99:.2f}",
            "description": f"Item {n}: {secrets.token_urlsafe(48)} \u2013 stainless, 10 mm",
            "unit_of_measure": "EA",
            "manufacturer_name": "Acme Manufacturing",
            "manufacturer_part_id": secrets.token_hex(6),
            "classification": {"domain": "UNSPSC", "value": "31161500"},
        }
        for n in range(1, count + 1)
    ]


def multipart_related(
    document: bytes, parts: list[tuple[str, str, str, bytes, str]], charset: str = "UTF-8"
) -> tuple[bytes, str]:
    """A multipart/related body: the cXML document first (in ``charset``), then (cid, type, filename, data,
    transfer encoding)."""
    boundary = f"----=_Part_{secrets.token_hex(12)}"
    chunks = [
        f"--{boundary}\r\nContent-Type: text/xml; charset={charset}\r\n"
        "Content-ID: <order@buyer.example>\r\n\r\n".encode(),
        document,
        b"\r\n",
    ]
    for cid, content_type, filename, data, encoding in parts:
        payload = base64.encodebytes(data) if encoding == "base64" else data
        chunks += [
            (
                f"--{boundary}\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n"
                f'Content-ID: <{cid}>\r\nContent-Disposition: attachment; filename="{filename}"\r\n\r\n'
            ).encode(),
            payload,
            b"\r\n",
        ]
    chunks.append(f"--{boundary}--\r\n".encode())
    content_type = f'multipart/related; boundary="{boundary}"; type="text/xml"; start="<order@buyer.example>"'
    return b"".join(chunks), content_type
