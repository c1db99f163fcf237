"""The status catalogue and the one mapping from errors to the status that answers them."""

from __future__ import annotations

import pytest

from punchout.cxml import StatusCode, status_for
from punchout.cxml import errors as e

CATALOGUE = {
    200: "OK",
    201: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    406: "Not Acceptable",
    409: "Conflict",
    412: "Precondition Failed",
    417: "Expectation Failed",
    450: "Not Implemented",
    500: "Internal Server Error",
    560: "Temporary server error",
}


def test_catalogue_holds_exactly_the_protocol_codes() -> None:
    # Given the protocol's status table
    # Then the catalogue has exactly those codes
    assert sorted(int(code) for code in StatusCode) == sorted(CATALOGUE)


@pytest.mark.parametrize(("code", "text"), sorted(CATALOGUE.items()))
def test_status_code_has_its_text(code: int, text: str) -> None:
    # Given a status code
    # Then its Status@text is the protocol's
    assert StatusCode(code).text == text


@pytest.mark.parametrize(
    ("code", "http_status"), [(450, 400), (560, 503), (204, 200), (200, 200), (406, 406), (500, 500)]
)
def test_status_code_maps_to_its_http_status(code: int, http_status: int) -> None:
    # Given a status code
    # Then the HTTP answer carrying it has the status of its class (204 carries a body: 200)
    assert StatusCode(code).http_status == http_status


@pytest.mark.parametrize("code", sorted(CATALOGUE))
def test_only_5xx_codes_are_transient(code: int) -> None:
    # Given a status code
    # Then buyers retry it exactly when it is a 5xx
    assert StatusCode(code).is_transient is (code >= 500)


ERRORS: list[tuple[type[e.CXMLError], int]] = [
    (e.CXMLError, 400),
    (e.NotAcceptable, 406),
    (e.MalformedXML, 406),
    (e.DocumentTooLarge, 406),
    (e.DocumentTooDeep, 406),
    (e.UnsafeXML, 406),
    (e.EncodingError, 406),
    (e.InvalidDocument, 400),
    (e.Unauthorized, 401),
    (e.Forbidden, 403),
    (e.Conflict, 409),
    (e.PreconditionFailed, 412),
    (e.ReferenceUnknown, 417),
    (e.NotImplementedRequest, 450),
    (e.TemporaryFailure, 560),
]


def test_error_table_covers_every_error_class() -> None:
    # Given every CXMLError subclass defined in punchout.cxml.errors
    defined = {value for value in vars(e).values() if isinstance(value, type) and issubclass(value, e.CXMLError)}

    # Then each is in the table below (a new one must be given its expected status)
    assert defined == {error for error, _ in ERRORS}


@pytest.mark.parametrize(("error_class", "code"), ERRORS, ids=[error.__name__ for error, _ in ERRORS])
def test_error_maps_to_its_status_and_own_text(error_class: type[e.CXMLError], code: int) -> None:
    # Given an error of that class with a text for the buyer
    error = error_class("What was wrong")

    # When the answer is chosen
    status, text = status_for(error)

    # Then it is the class's status, with the error's text
    assert (int(status), text) == (code, "What was wrong")


def test_unknown_exception_maps_to_500_with_the_generic_text() -> None:
    # Given an unexpected fault whose message carries internals
    error = RuntimeError("connection to db.internal:5432 failed, password=hunter2, /var/task/app.py line 12")

    # When the answer is chosen
    status, text = status_for(error)

    # Then the buyer gets a retryable 500 and a generic text that leaks nothing
    assert status == StatusCode.INTERNAL_SERVER_ERROR
    assert status.is_transient
    assert text == e.INTERNAL_ERROR_TEXT
    assert "hunter2" not in text and "db.internal" not in text
