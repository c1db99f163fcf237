"""Property tests of the PunchOutSetupRequest: generated Extrinsics, Contacts, ShipTo and BuyerCookie
contents sent through the real setup handler (``invoke`` holds every answer to the cXML contract), then
read back as the shop reads them (``GET /shop/sessions/{id}``) and returned to the buyer in the cart.

``FUZZ_EXAMPLES`` raises the number of examples for a deeper local search."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from punchout.partners import TradingPartner
from tests.support.fuzz import XML_CHARACTERS, fuzz_settings
from tests.unit.gateway.helpers import (
    ReturnPage,
    Shop,
    line,
    message_tree,
    open_session_with,
    setup_document,
)

FUZZ = fuzz_settings(20)

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)

text = st.one_of(
    st.text(XML_CHARACTERS, max_size=40),
    st.text(st.sampled_from(" \t\r\n\u00a0\u2028é\U0001f600<&>\"']]>"), max_size=12),
    st.builds(lambda c, n: c * n, st.sampled_from(["x", "é", "\U0001f600", " \r\n"]), st.integers(200, 3000)),
)
some_text = text.filter(lambda s: s.strip())

USER_EXTRINSICS = [
    "UserEmail", "useremail", "EMAIL", "EmailAddress", "user_email", "UniqueName", "User", "UserName", "UserId",
    "FirstName", "lastname", "UserFullName", "UserPrintableName", "FullName", "Name", "CostCenter", "ReturnFrame",
]  # fmt: skip
extrinsic_name = st.one_of(
    st.sampled_from(USER_EXTRINSICS), st.sampled_from(USER_EXTRINSICS).map(lambda n: f" {n}\t"), some_text, st.none()
)


@dataclass
class Sent:
    """What the generated request holds, as an XML parser reads it back."""

    extrinsics: list[tuple[str | None, str, bool]] = field(default_factory=list)  # name, value, value has an element
    contacts: list[dict[str, Any]] = field(default_factory=list)
    ship_to: dict[str, Any] | None = None
    cookie: str = ""
    cookie_markup: str | None = None  # the elements of a cookie that holds some, as XML
    declare_on_root: bool = False


cookie_markup = st.sampled_from(
    [
        "<x:a>1</x:a>",
        '<x:a y:k="v">1<x:b/>tail</x:a> after',
        '<a xmlns="urn:example:d"><b>é</b></a>',
        '<q:a xmlns:q="urn:example:q"><q:b xmlns:q="urn:example:other">2</q:b></q:a>',
        '<Id kind="a&amp;b">123</Id> after &lt;id&gt; <Empty/>\n',
        "<a>\r\n<b>  </b>&#13;</a>",
    ]
)


def _element(tag: str, value: str) -> etree._Element:
    element = etree.Element(tag)
    element.text = value
    return element


@st.composite
def setup_requests(draw: st.DrawFn) -> tuple[bytes, Sent]:
    sent = Sent()
    cookie = draw(st.one_of(text, st.just("")))
    markup = draw(st.one_of(st.none(), cookie_markup))
    sent.declare_on_root = draw(st.booleans())
    body = setup_document(buyer_cookie="COOKIE", extrinsics=[], contacts=[], ship_to=None)
    root = etree.fromstring(body, _PARSER)
    request = root.find(".//PunchOutSetupRequest")
    assert request is not None
    for child in list(request):
        if child.tag in ("Contact", "ShipTo"):
            request.remove(child)
    buyer_cookie = request.find("BuyerCookie")
    assert buyer_cookie is not None
    after = buyer_cookie
    if markup is None:
        buyer_cookie.text = cookie
    else:
        buyer_cookie.text = None
        wrapper = etree.fromstring(f'<w xmlns:x="urn:example:x" xmlns:y="urn:example:y">{markup}</w>'.encode(), _PARSER)
        buyer_cookie.text = cookie + (wrapper.text or "")
        for child in wrapper:
            buyer_cookie.append(child)
    for name, value, nested in draw(st.lists(st.tuples(extrinsic_name, text, st.booleans()), max_size=6)):
        extrinsic = _element("Extrinsic", value)
        if name is not None:
            extrinsic.set("name", name)
        if nested:  # ANY content: a child element whose text counts
            child = _element("Detail", "inner")
            child.tail = "more"
            extrinsic.append(child)
        after.addnext(extrinsic)
        after = extrinsic
    form_post = request.find("BrowserFormPost")
    anchor = form_post if form_post is not None else after
    for role, name, emails in draw(
        st.lists(
            st.tuples(st.sampled_from([None, "endUser", "ENDUSER", "buyer", ""]), text, st.lists(text, max_size=2)),
            max_size=3,
        )
    ):
        contact = etree.Element("Contact")
        if role is not None:
            contact.set("role", role)
        contact.append(_element("Name", name))
        contact[0].set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        for email in emails:
            contact.append(_element("Email", email))
        anchor.addnext(contact)
        anchor = contact
    if draw(st.booleans()):
        ship_to = etree.Element("ShipTo")
        address = etree.SubElement(ship_to, "Address")
        address.append(_element("Name", draw(text)))
        address[0].set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        postal = etree.SubElement(address, "PostalAddress")
        for deliver_to in draw(st.lists(text, max_size=2)):
            postal.append(_element("DeliverTo", deliver_to))
        postal.append(_element("Street", draw(text)))
        postal.append(_element("City", draw(text)))
        postal.append(_element("Country", draw(text)))
        postal[-1].set("isoCountryCode", "US")
        address.append(_element("Email", draw(text)))
        anchor.addnext(ship_to)
    body = etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")
    if sent.declare_on_root or markup is not None:
        body = body.replace(b"<cXML ", b'<cXML xmlns:x="urn:example:x" xmlns:y="urn:example:y" ', 1)
    # What was sent is what a parser reads from the bytes.
    read = etree.fromstring(body, _PARSER).find(".//PunchOutSetupRequest")
    assert read is not None
    sent_cookie = read.find("BuyerCookie")
    assert sent_cookie is not None
    sent.cookie = sent_cookie.text or ""
    sent.cookie_markup = etree.tostring(sent_cookie, encoding="unicode", with_tail=False) if len(sent_cookie) else None
    for extrinsic in read.iterchildren("Extrinsic"):
        sent.extrinsics.append(
            (extrinsic.get("name"), "".join(str(t) for t in extrinsic.itertext()), len(extrinsic) > 0)
        )
    for contact in read.iterchildren("Contact"):
        sent.contacts.append(
            {
                "role": contact.get("role"),
                "name": contact.findtext("Name") or "",
                "emails": [e.text or "" for e in contact.iterchildren("Email")],
            }
        )
    read_address = read.find("ShipTo/Address")
    if read_address is not None:
        sent.ship_to = {
            "name": read_address.findtext("Name") or "",
            "email": read_address.findtext("Email") or "",
            "deliver_to": [e.text or "" for e in read_address.iterfind("PostalAddress/DeliverTo")],
            "street": read_address.findtext("PostalAddress/Street") or "",
            "city": read_address.findtext("PostalAddress/City") or "",
            "country": read_address.findtext("PostalAddress/Country") or "",
        }
    return body, sent


def _expected_extrinsics(sent: Sent) -> dict[str, str]:
    expected: dict[str, str] = {}
    for name, value, _ in sent.extrinsics:
        if name is not None and name.strip():
            expected[name.strip()] = value.strip()
    return expected


@FUZZ
@given(generated=setup_requests())
def test_a_setup_request_reaches_the_shop_and_its_cookie_comes_back_unchanged(
    partner: TradingPartner, shop_headers: dict[str, str], generated: tuple[bytes, Sent]
) -> None:
    body, sent = generated
    shop = Shop(shop_headers, open_session_with(body))
    context = shop.context()
    # The Extrinsics, by (stripped) name: the last of a name wins.
    assert context["extrinsics"] == _expected_extrinsics(sent)
    # The contacts, as sent (texts stripped).
    assert [{"role": c["role"], "name": c["name"], "emails": c["emails"]} for c in context["contacts"]] == [
        {"role": c["role"], "name": c["name"].strip(), "emails": [e.strip() for e in c["emails"]]}
        for c in sent.contacts
    ]
    if sent.ship_to is None:
        assert context["ship_to"] is None
    else:
        address = context["ship_to"]
        postal = address["postal_address"]
        assert address["name"] == sent.ship_to["name"].strip()
        assert (address["email"] or "") == sent.ship_to["email"].strip()
        assert postal["deliver_to"] == [d.strip() for d in sent.ship_to["deliver_to"]]
        assert postal["street"] == [sent.ship_to["street"].strip()]
        assert postal["city"] == sent.ship_to["city"].strip()
        assert postal["country"] == sent.ship_to["country"].strip()
    # The user: every field is a value the buyer sent (stripped).
    values = {v.strip() for _, v, _ in sent.extrinsics} | {c["name"].strip() for c in sent.contacts}
    values |= {e.strip() for c in sent.contacts for e in c["emails"]}
    if sent.ship_to is not None:
        values |= {sent.ship_to["email"].strip(), sent.ship_to["name"].strip()}
        values |= {d.strip() for d in sent.ship_to["deliver_to"]}
    user = context["user"]
    for key in ("email", "first_name", "last_name", "unique_name"):
        assert user[key] is None or user[key] in values, (key, user)
    email_names = ("useremail", "email", "emailaddress", "user_email")
    emails = {(n or "").strip().lower(): v.strip() for n, v, _ in sent.extrinsics if (n or "").strip() and v.strip()}
    first_email = next((emails[n] for n in email_names if n in emails), None)
    if first_email is not None:
        assert user["email"] == first_email
    # The cart goes back with the BuyerCookie as it was sent.
    page = ReturnPage.of(shop.checkout(line()))
    document = page.document(partner)
    echoed = message_tree(document).find(".//BuyerCookie")
    assert echoed is not None
    if sent.cookie_markup is None:
        assert len(echoed) == 0
        assert (echoed.text or "") == sent.cookie
    else:
        sent_element = etree.fromstring(sent.cookie_markup.encode(), _PARSER)
        assert [(e.tag, e.text, e.tail if e is not echoed else None, dict(e.attrib)) for e in echoed.iter()] == [
            (e.tag, e.text, e.tail if e is not sent_element else None, dict(e.attrib)) for e in sent_element.iter()
        ]
