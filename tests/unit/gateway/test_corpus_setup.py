"""Every genuine PunchOutSetupRequest of the shared corpus is accepted once its partner is registered.

The partner is registered from the document itself: its From credentials, the Sender's SharedSecret,
its deploymentMode, the BrowserFormPost host (plain http allowed when the document uses it), and a
default return URL when the document has no BrowserFormPost. Then the session must show the user,
ship-to and items the document carried, and the cart must go back where the buyer asked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from lxml import etree

from punchout import cli
from punchout.partners import CredentialRef, CredentialSet, TradingPartner, generate_secret, hash_secret
from punchout.store.dynamo import Table
from punchout.store.partners import PartnerRepository
from tests.unit.gateway.conftest import TABLE_NAME
from tests.unit.gateway.helpers import (
    DEFAULT_RETURN_URL,
    ReturnPage,
    Shop,
    follow,
    message_tree,
    post_setup,
    session_from_start,
    start_token,
)

pytestmark = pytest.mark.conformance

SETUP_REQUESTS = "corpus/setup_request"


def _corpus_names() -> list[str]:
    """File names for parametrisation; the cxml_shared_dir fixture skips when the variable is unset."""
    root = os.environ.get("CXML_SHARED_DIR", "").strip()
    folder = Path(root) / SETUP_REQUESTS if root else None
    if folder is None or not folder.is_dir():
        return ["(no corpus)"]
    return sorted(p.name for p in folder.glob("*.xml"))


@dataclass(frozen=True)
class Expected:
    """What a document must produce. ``None``: no claim about that field."""

    status: int = 200
    email: str | None = None
    name: str | None = None
    unique_name: str | None = None
    city: str | None = None
    items: list[tuple[str, str | None]] = field(default_factory=list)  # (SupplierPartID, aux id)
    return_frame: str | None = None


EXPECTED: dict[str, Expected] = {
    "ariba1.1010__PunchOutSetupRequest.xml": Expected(),
    "bizcxml__punchoutsetup1-request.xml": Expected(
        email="1234@remotehost", name="John Smith", city="Metropolis", return_frame="_returnFrame"
    ),
    "bizcxml__punchoutsetup2-request.xml": Expected(email="1234@remotehost", name="John Smith", city="Metropolis"),
    "bizcxml__punchoutsetup3-request.xml": Expected(email="1234@remotehost", name="John Smith", city="Metropolis"),
    "bizcxml__punchoutsetup4-request.xml": Expected(email="1234@remotehost", unique_name="jsmith", city="Metropolis"),
    "bizcxml__punchoutsetup5-request.xml": Expected(email="1234@remotehost"),
    "bizcxml__punchoutsetup6-request.xml": Expected(email="1234@remotehost", name="John"),
    "bizcxml__punchoutsetup7-request.xml": Expected(name="John Smith"),
    "bizcxml__punchoutsetup8-request.xml": Expected(email="1234@remotehost", name="John Smith"),
    "friendsofcxml__PunchOutSetupRequest.xml": Expected(
        email="john-doe@domain.com", city="Sunnyvale", items=[("5555", None), ("6666", None)]
    ),
    "punchoutcatalogs__DecoderTest_setup_request.xml": Expected(
        email="cxml@punchoutcatalogs.net",
        name="cXML Tester",
        city="Eureka",
        items=[("", "fakeInternalId"), ("", "fakeInternalId2"), ("", "fakeInternalId3")],
    ),
    "punchoutcatalogs__Helper_dynamic_setup_request.xml": Expected(
        email="cxml5d0b817f59d4c@punchoutcatalogs.net", name="cXML Tester", city="Eureka"
    ),
    # Its BrowserFormPost is the literal "HOOK PLACEHOLDER" (a template the tool fills in at run time):
    # no URL, so the partner's default return URL stands in, as for a request without BrowserFormPost.
    "simfre__punch_php_setup_request.xml": Expected(),
}


@dataclass(frozen=True)
class Genuine:
    """What the test reads from a corpus document to register its partner."""

    raw: bytes
    mode: str
    from_credentials: list[CredentialRef]
    secret: str | None
    browser_form_post: str | None
    buyer_cookie: str
    extrinsics: dict[str, str]

    @classmethod
    def read(cls, path: Path) -> Genuine:
        raw = path.read_bytes()
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)
        root = etree.fromstring(raw, parser)

        def elements(xpath: str) -> list[Any]:
            return list(root.xpath(xpath))  # type: ignore[arg-type]

        def text(xpath: str, context: Any = root) -> str:
            return str(context.xpath(f"string({xpath})"))

        secrets = [str(s.text).strip() for s in elements("/cXML/Header/Sender/Credential/SharedSecret") if s.text]
        [request] = elements("/cXML/Request")
        url = text("//PunchOutSetupRequest/BrowserFormPost/URL").strip()
        named = [(str(e.get("name")).strip(), e) for e in elements("//PunchOutSetupRequest/Extrinsic[@name]")]
        return cls(
            raw=raw,
            mode=(request.get("deploymentMode") or "production").strip().lower(),
            from_credentials=[
                CredentialRef(domain=str(c.get("domain")), identity=text("Identity", c))
                for c in elements("/cXML/Header/From/Credential")
            ],
            secret=secrets[0] if secrets else None,
            browser_form_post=url or None,
            buyer_cookie=text("//PunchOutSetupRequest/BuyerCookie"),
            extrinsics={name: text(".", e).strip() for name, e in named if name},
        )

    @property
    def usable_return_url(self) -> str | None:
        """The BrowserFormPost when it is an http(s) URL (not a template placeholder)."""
        parts = urlsplit(self.browser_form_post or "")
        return self.browser_form_post if parts.scheme in ("http", "https") and parts.hostname else None

    def partner(self) -> TradingPartner:
        hosts = ["buyer.example.com"]
        allow_http = False
        usable = self.usable_return_url is not None
        if self.usable_return_url is not None:
            parts = urlsplit(self.usable_return_url)
            # The host as registered for it: with its port when it names one
            hosts.append(parts.hostname or "" if parts.port is None else f"{parts.hostname}:{parts.port}")
            allow_http = parts.scheme == "http"
        return TradingPartner(
            id="corpus",
            name="Corpus buyer",
            credentials={
                self.mode: CredentialSet(  # type: ignore[dict-item]
                    from_credentials=self.from_credentials,
                    secret_hashes=[hash_secret(self.secret or generate_secret(), iterations=1000)],
                )
            },
            browser_form_post_hosts=hosts,
            allow_http=allow_http,
            default_return_url=None if usable else DEFAULT_RETURN_URL,
            shop_url="https://shop.example.com/punchout",
            default_classification={"value": "44120000"},  # type: ignore[arg-type]
        )

    def expected(self, name: str) -> Expected:
        if self.secret is None:  # a genuine document without a secret cannot authenticate
            return Expected(status=401)
        return EXPECTED.get(name, Expected())


@pytest.fixture(params=_corpus_names())
def genuine(request: pytest.FixtureRequest, cxml_shared_dir: Path) -> tuple[str, Genuine]:
    name: str = request.param
    return name, Genuine.read(cxml_shared_dir / SETUP_REQUESTS / name)


@dataclass
class Opened:
    status: int
    message: str
    context: dict[str, Any] | None
    shop: Shop | None


def _open(table: Table, document: Genuine, shop_headers: dict[str, str]) -> Opened:
    PartnerRepository(table).create(document.partner())
    answer = post_setup(document.raw)
    if answer.status.code != 200:
        return Opened(answer.status.code, answer.status.message, None, None)
    shop = Shop(shop_headers, session_from_start(start_token(answer)))
    return Opened(200, "", shop.context(), shop)


def test_corpus_is_present(cxml_shared_dir: Path) -> None:
    # Given the shared cXML folder
    # When its genuine setup requests are listed
    names = sorted(p.name for p in (cxml_shared_dir / SETUP_REQUESTS).glob("*.xml"))
    # Then there are some, and every one has an expectation written down here
    assert names
    assert set(names) <= set(EXPECTED), set(names) - set(EXPECTED)


def test_genuine_request_gets_the_expected_status(
    table: Table, shop_headers: dict[str, str], genuine: tuple[str, Genuine]
) -> None:
    # Given the partner of a genuine setup request registered from the document itself
    name, document = genuine
    # When the document is sent as it is
    opened = _open(table, document, shop_headers)
    # Then it is answered with the status expected for it (200 for every usable one)
    assert opened.status == document.expected(name).status, (name, opened.message)


def test_genuine_request_user_is_extracted(
    table: Table, shop_headers: dict[str, str], genuine: tuple[str, Genuine]
) -> None:
    # Given an accepted genuine setup request
    name, document = genuine
    expected = document.expected(name)
    assert expected.status == 200, f"{name} is refused by design: no user, items or cart to check"
    # When the shop reads the session
    opened = _open(table, document, shop_headers)
    assert opened.context is not None, opened.message
    user = opened.context["user"]
    # Then the user is the one the document named, wherever it put them
    for key, value in (("email", expected.email), ("name", expected.name), ("unique_name", expected.unique_name)):
        if value is not None:
            assert user[key] == value, (name, user)


def test_genuine_request_ship_to_and_extrinsics_are_extracted(
    table: Table, shop_headers: dict[str, str], genuine: tuple[str, Genuine]
) -> None:
    # Given an accepted genuine setup request
    name, document = genuine
    expected = document.expected(name)
    assert expected.status == 200, f"{name} is refused by design: no user, items or cart to check"
    # When the shop reads the session
    opened = _open(table, document, shop_headers)
    assert opened.context is not None, opened.message
    # Then the ship-to address and every named Extrinsic are there
    ship_to = opened.context["ship_to"]
    if expected.city is None:
        assert ship_to is None or ship_to["postal_address"] is None or ship_to["postal_address"]["city"]
    else:
        assert ship_to["postal_address"]["city"] == expected.city
    for key, value in document.extrinsics.items():
        if value:
            assert opened.context["extrinsics"].get(key) == value, (name, key)


def test_genuine_request_items_are_extracted(
    table: Table, shop_headers: dict[str, str], genuine: tuple[str, Genuine]
) -> None:
    # Given an accepted genuine setup request
    name, document = genuine
    expected = document.expected(name)
    assert expected.status == 200, f"{name} is refused by design: no user, items or cart to check"
    # When the shop reads the session
    opened = _open(table, document, shop_headers)
    assert opened.context is not None, opened.message
    # Then the ItemOut lines the document carried are listed (none of them ours, so none restored)
    items = [(i["supplier_part_id"], i["supplier_part_auxiliary_id"]) for i in opened.context["items"]]
    assert items == expected.items
    assert not any(i["restored"] for i in opened.context["items"])


def test_genuine_request_cart_goes_back_where_the_buyer_asked(
    table: Table, shop_headers: dict[str, str], genuine: tuple[str, Genuine]
) -> None:
    # Given an accepted genuine setup request
    name, document = genuine
    expected = document.expected(name)
    assert expected.status == 200, f"{name} is refused by design: no user, items or cart to check"
    opened = _open(table, document, shop_headers)
    assert opened.shop is not None, opened.message
    # When the shop returns a cart
    opened.shop.put_lines({"supplier_part_id": "P1", "quantity": "1", "unit_price": "2.50", "description": "Pen"})
    page = ReturnPage.of(follow(opened.shop.return_url()))
    # Then it is posted to the BrowserFormPost (or the default return URL), into the frame the buyer
    # named, with the buyer's cookie echoed unchanged
    assert page.form.get("action") == (document.usable_return_url or DEFAULT_RETURN_URL)
    assert page.form.get("target") == expected.return_frame
    posted = message_tree(page.document(document.partner()))
    assert posted.xpath("string(//BuyerCookie)") == document.buyer_cookie


def test_genuine_request_is_accepted_once_its_partner_is_registered_with_the_cli(
    table: Table, genuine: tuple[str, Genuine], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the partner registered as an operator registers one, with `punchout partners add`: the
    # document's From credentials and mode, and the secret the buyer's system sends (the corpus's are
    # 6 to 11 characters: the buyer's system dictates them)
    name, document = genuine
    assert document.secret is not None, f"{name} carries no SharedSecret"
    monkeypatch.setattr(cli, "hash_secret", partial(hash_secret, iterations=1000))  # the same kind, faster
    partner = document.partner()
    options = ["--table", TABLE_NAME, "partners", "add", partner.id, "--name", partner.name, "--mode", document.mode]
    for credential in document.from_credentials:
        options += ["--from", f"{credential.domain}:{credential.identity}"]
    options += ["--secret", document.secret, "--short-secret"]
    for host in partner.browser_form_post_hosts:
        options += ["--post-host", host]
    if partner.allow_http:
        options.append("--allow-http")
    if partner.default_return_url is not None:
        options += ["--default-return-url", partner.default_return_url]
    options += ["--shop-url", "https://shop.example.com/punchout", "--unspsc", "44120000"]
    assert cli.main(options) == 0, capsys.readouterr().err
    # When the document is sent as it is
    answer = post_setup(document.raw)
    # Then it is answered with the status expected for it (200 for every usable one)
    assert answer.status.code == document.expected(name).status, (name, answer.status)
