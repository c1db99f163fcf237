"""The single Logger, Tracer and Metrics of the gateway, and the redaction of secrets in logs.

Every handler uses the same decorator stack. Log lines pass through ``redact`` before they are
written, so a secret that slips into a message or an extra key never reaches CloudWatch.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Callable

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

NAMESPACE = "PunchOutGateway"

# A SharedSecret element, with a namespace prefix too (a sender may use one, its non-ASCII letters
# \u-escaped in JSON text a string holds), in time linear in the line.
# Its text runs to its closing tag through any other markup (a child, a stray `<`) but never past the
# next SharedSecret tag, so openings without a closing do not each read to the end (a line of 20,000
# of them took 108 s). A CDATA section or a comment is skipped whole, so a closing tag inside it
# (<![CDATA[a</SharedSecret>b]]>) does not end it.
# Nor does the text run past the end of the JSON string holding it (a quote no backslash escapes): an
# opening without a closing there (a body cut short, a malformed document) is redacted to that end.
# Any `<` after it may still be the secret's; and the line's end, or a closing tag in a later string,
# would take the keys between, and the line's JSON, with it.
# An opening tag whose attributes meet a `<` or the end of their string before its `>` (<SharedSecret a<b>,
# malformed markup quoted in an error text) is redacted from the element's name to that string's end:
# its text, its closing tag, even its attributes cannot be told apart, and a `>` further on is not its.
_SHARED_SECRET_NAME = r"(?:(?:[\w.-]|\\++u[0-9a-f]{4})++:)?SharedSecret\b"  # noqa: S105 - an element name, not a secret
_SHARED_SECRET = re.compile(
    rf"""
    (<{_SHARED_SECRET_NAME})
    (?:
        ((?:[^<>"\\]++ | \\.)*+>)
        (?:
            (?:
                [^<"\\]++ | \\.
              | <!\[CDATA\[ (?:[^\]"\\]++ | \\. | \](?!\]>))*+ (?:\]\]>)?
              | <!-- (?:[^-"\\]++ | \\. | -(?!->))*+ (?:-->)?
              | <(?!/?{_SHARED_SECRET_NAME})
            )*+
            (</{_SHARED_SECRET_NAME}\s*+>)
          | (?:[^"\\]++ | \\.)*+
        )
      | (?:[^"\\]++ | \\.)*+
    )
    """,
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)

_SECRET_KEY_NAMES = r"(?:x-api-key|api[_-]?key|shared[_-]?secret|secret|password|authorization)"  # noqa: S105 - key names, not a secret

# A secret key's value, wherever the line holds it: as a key of the line ("x-api-key":"..."), in JSON
# text inside one of its strings, whose quotes arrive escaped (\"x-api-key\": \"...\", and \\\" one
# level down), or in a dict's repr ('x-api-key': '...': what str(dict) and f"{headers}" give).
# A JSON key's value is quoted exactly as the key is (the same backslashes before its quote), and a
# repr key's is a '...' or a "..." escaped at least once (a repr is always inside a string of the line):
# otherwise a string ending in `"secret":` would take the quote closing it, and the key after it, for
# the value's. A number is a value too, replaced by a string in the key's quotes.
# A string opened by a quote after c backslashes holds its own quotes after 2c+1 backslashes, modulo
# 2c+2 (its escaped backslashes come in groups of that size), and ends at a quote after any other
# count: kept, less those groups, so the line stays valid JSON. A repr's '...' ends at a bare quote
# (its escaped \' has backslashes before it at any depth, so a value ending in a backslash is hidden
# up to the next bare quote) or with the JSON string that holds it. The key's quote is three branches
# that each start with one character, which lets the regex engine skip to the next candidate; the
# third starts only at the first backslash of a run, so a long run is read once, not once per backslash.
_SECRET_KEY_VALUE = re.compile(
    rf"""
    (?P<key>(?P<kq>"|'|\\(?<!\\\\)\\*+["']){_SECRET_KEY_NAMES}(?P=kq)
        (?:(?<=")\s*:\s*(?=(?P=kq)|-?\d) | (?<=')\s*:\s*(?=\\+"|'|-?\d)))
    (?:
        (?P<dq>(?P<c>\\*)")
        (?:[^"\\]++ | \\++(?!") | (?:(?P=c)(?P=c)\\\\)*+(?P=c)(?P=c)\\")*+
        (?:(?:(?P=c)(?P=c)\\\\)*+(?P<dq_end>\\*")|\Z)
      | (?P<sq>')
        (?:[^'"\\]++ | \\++(?!['"]) | \\++' | (?:\\\\)*+\\")*+
        (?:(?:\\\\)*+(?P<sq_end>["'])|\Z)
      | -?\d[\d.eE+-]*+
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)


# A secret key of the line itself whose value is an array or an object ("authorization":["Bearer ..."]):
# the whole value becomes "[redacted]". Its end is found by counting brackets outside its strings, and
# the search goes on after it, so each character is read once. Deeper, in JSON text a string of the
# line holds, such a value stays: its strings' quotes would have to be counted at their depth.
_LINE_SECRET_KEY_NESTED = re.compile(rf'"(?<!\\"){_SECRET_KEY_NAMES}"\s*:\s*(?=[\[{{])', re.IGNORECASE)
_JSON_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]++|\\.)*+"?|[\[\]{}]', re.DOTALL)


def _redact_nested_values(text: str) -> str:
    parts: list[str] = []
    position = 0
    while key := _LINE_SECRET_KEY_NESTED.search(text, position):
        parts += (text[position : key.end()], '"[redacted]"')
        depth, position = 0, len(text)  # unbalanced (never in a formatted line): hidden to the end
        for token in _JSON_STRING_OR_BRACKET.finditer(text, key.end()):
            depth += {"[": 1, "{": 1, "]": -1, "}": -1}.get(token[0], 0)
            if depth == 0:
                position = token.end()
                break
    return "".join(parts) + text[position:] if parts else text


def _redacted_value(match: re.Match[str]) -> str:
    opening = match["dq"] or match["sq"]
    if not opening:  # a number: written as a string in the key's quotes
        return f"{match['key']}{match['kq']}[redacted]{match['kq']}"
    closing = match["dq_end"] or match["sq_end"] or ""
    return f"{match['key']}{opening}[redacted]{closing}"


# What groups a card number's digits: a space, a tab, a line break, a no-break space, a dash or a dot,
# raw or escaped at any depth (a tab reaches the line as \t, a no-break space in JSON text as \\u00a0).
_CARD_SEPARATOR = r"(?:[\s.-]|\\++(?:[nrt]|u00a0|u2007|u202f))"


_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # <SharedSecret>...</SharedSecret> in any cXML fragment
    (_SHARED_SECRET, r"\1\2[redacted]\3"),
    # PCard number="4111..." -> keep the last four digits; buyers also send them grouped ("4111 1111 ...").
    # Only a `number` attribute (after a space or an escaped line break), not lineNumber="1000".
    # Its quotes arrive escaped once in a line's string, and more when that string holds JSON text.
    (
        re.compile(
            rf'(number(?:(?<!\wnumber)|(?<=\\[nrt]number))\s*=\s*\\*["\'])'
            rf'(?:\d|{_CARD_SEPARATOR})*?((?:\d{_CARD_SEPARATOR}*+){{3}}\d)({_CARD_SEPARATOR}*+\\*["\'])',
            re.IGNORECASE,
        ),
        r"\1************\2\3",
    ),
    # PaymentToken token="..." (a virtual card's token pays as its number does): hidden whole. Only an
    # attribute named exactly token, its quotes escaped as a number's may be; a value stops at a backslash
    # (tokens hold none), so a long run of them costs linear time.
    (re.compile(r'((?:(?<![\w-])|(?<=\\[nrt]))token\s*=\s*\\*(["\']))(?:(?!\2)[^\\])*(\\*\2)'), r"\1[redacted]\3"),
    # "x-api-key": "...", "shared_secret": "...", "secret": "..." in JSON text or a dict's repr
    (_SECRET_KEY_VALUE, _redacted_value),
)


def redact(text: str) -> str:
    """``text`` without its secrets. It is one formatted line, a JSON object: a secret cut short there
    is hidden up to the end of the JSON string that holds it."""
    text = _redact_nested_values(text)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(LambdaPowertoolsFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


# The traceback once, as `exception` text: Powertools would add the same frames again as `stack_trace`.
logger = Logger(logger_formatter=RedactingFormatter(serialize_stacktrace=False))
# Only botocore is patched (the functions make no other calls worth a subsegment): patch_all would
# import sqlite3, http.client and every other supported library at every cold start.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics(namespace=NAMESPACE)
# Pages, GET routes and ProfileRequest count nothing, which is normal here; Powertools would warn
# "No application metrics to publish" on stderr at the first such request of every environment.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
