"""Property tests of authentication through the ProfileRequest: envelopes with credentials in any case,
repeated, missing or misplaced, sent to the setup function's routes (``invoke`` holds every answer to the cXML
contract). Never a 5xx; 200 exactly when the buyer proved itself, else 401 (or 400/406 for a document
that is not a usable cXML request).

``FUZZ_EXAMPLES`` raises the number of examples for a deeper local search."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from hypothesis import given
from hypothesis import strategies as st

from punchout.auth import UNAUTHORIZED_TEXT
from punchout.partners import TradingPartner
from tests.support import builders
from tests.support.fuzz import XML_CHARACTERS, fuzz_settings
from tests.unit.gateway.helpers import call, cxml

FUZZ = fuzz_settings(40)
ROUTES = ["/cxml/profile", "/cxml/setup"]  # /cxml/order needs the order queue: tests/unit/orders


def _any_case(word: str) -> st.SearchStrategy[str]:
    return st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda upper: "".join(c.upper() if u else c.lower() for c, u in zip(word, upper, strict=True))
    )


def _padded(value: str) -> st.SearchStrategy[str]:
    return st.sampled_from([value, f" {value}", f"{value}\n", f"\t{value} "])


odd_text = st.text(XML_CHARACTERS, max_size=20).filter(lambda s: "wrong-secret:" not in s)
domain = st.one_of(
    _any_case(builders.BUYER_DOMAIN).flatmap(_padded), st.sampled_from(["DUNS", "", "NetworkId2"]), odd_text
)
identity = st.one_of(
    _padded(builders.BUYER_IDENTITY),
    st.sampled_from([builders.BUYER_IDENTITY + "-T", builders.BUYER_IDENTITY.lower(), "", "AN0100000000"]),
    odd_text,
)
secret = st.one_of(
    st.none(),
    _padded(builders.SECRET),
    st.sampled_from([builders.SECRET.upper(), builders.SECRET + " test", "", builders.SECRET[:-1]]),
    odd_text.map(lambda s: f"wrong-secret:{s}"),  # marked: identities (logged) never hold a secret sent before
)


@dataclass
class Cred:
    domain: str
    identity: str
    secret: str | None = None

    def xml(self) -> str:
        inner = f"<Identity>{escape(self.identity)}</Identity>"
        if self.secret is not None:
            inner += f"<SharedSecret>{escape(self.secret)}</SharedSecret>"
        return f"<Credential domain={quoteattr(self.domain)}>{inner}</Credential>"


@dataclass
class Envelope:
    from_: list[Cred] | None  # None: no From element
    to: list[Cred] | None
    sender: list[Cred] | None
    header: bool
    mode: str | None  # deploymentMode, None: not given
    request: str  # the Request's content
    route: str

    def body(self) -> bytes:
        def group(tag: str, creds: list[Cred] | None, extra: str = "") -> str:
            return "" if creds is None else f"<{tag}>{''.join(c.xml() for c in creds)}{extra}</{tag}>"

        header = (
            "<Header>"
            + group("From", self.from_)
            + group("To", self.to)
            + group("Sender", self.sender, "<UserAgent>Fuzz</UserAgent>")
            + "</Header>"
            if self.header
            else ""
        )
        mode = "" if self.mode is None else f" deploymentMode={quoteattr(self.mode)}"
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">\n'
            '<cXML payloadID="1@fuzz" timestamp="2026-01-01T00:00:00+00:00" version="1.2.014" xml:lang="en-US">'
            f"{header}<Request{mode}>{self.request}</Request></cXML>"
        ).encode()

    def proven(self) -> bool:
        """Whether the buyer proved itself: a From credential of the partner in the request's
        deploymentMode among the first eight, and that mode's secret among the first two Sender secrets
        (any Sender: the partner restricts none)."""
        if not self.header or self.from_ is None:
            return False
        mode = (self.mode or "production").strip().lower()
        suffix = {"production": "", "test": "-T"}[mode]
        wanted_secret = {"production": builders.SECRET, "test": builders.SECRET + " test"}[mode]
        known = [
            c
            for c in self.from_[:8]
            if c.domain.strip().lower() == builders.BUYER_DOMAIN.lower()
            and c.identity.strip() == builders.BUYER_IDENTITY + suffix
        ]
        if not known:
            return False
        presented = [c.secret.strip() for c in self.sender or [] if c.secret is not None][:2]
        return wanted_secret in presented


creds = st.builds(Cred, domain, identity, secret)
envelopes = st.builds(
    Envelope,
    from_=st.one_of(st.none(), st.lists(creds, max_size=10)),
    to=st.one_of(st.none(), st.just([Cred("DUNS", "123456789")]), st.lists(creds, max_size=2)),
    sender=st.one_of(st.none(), st.lists(creds, max_size=4)),
    header=st.sampled_from([True, True, True, False]),
    mode=st.one_of(
        st.none(), _any_case("production"), _any_case("test"), st.sampled_from(["", "staging", " production "])
    ),
    request=st.sampled_from(["<ProfileRequest/>", "<ProfileRequest></ProfileRequest>", "", "<profilerequest/>"]),
    route=st.sampled_from(ROUTES),
)


@FUZZ
@given(envelope=envelopes)
def test_a_profile_request_is_answered_exactly_when_the_buyer_proved_itself(
    partner: TradingPartner, envelope: Envelope
) -> None:
    answer = cxml(call("POST", envelope.route, envelope.body()))
    code = answer.status.code
    assert code < 500, answer.status
    if envelope.request not in ("<ProfileRequest/>", "<ProfileRequest></ProfileRequest>"):
        # The request's kind is read with the Header, before authentication: 450 for one we do not
        # serve, 400 for none, whoever sent it.
        assert code in ((400, 401) if envelope.request == "" else (450, 401)), (answer.status, envelope)
    elif (envelope.mode or "production").strip().lower() not in ("production", "test"):
        assert code in (400, 401), (answer.status, envelope)  # the deploymentMode decides whose credentials
    elif envelope.proven():
        assert code == 200, (answer.status, envelope)
    else:
        assert code == 401, (answer.status, envelope)
        assert answer.status.message == UNAUTHORIZED_TEXT, answer.status
