"""The minor units of ISO 4217 currencies: how many places an amount paid in one may have.

Only what the cart needs to refuse a charge that no invoice could hold (shipping of 500.5 JPY, converted and
never rounded). Prices per unit are not held to it (B2B sells screws at 0.5 JPY), nor is anything a buyer
sends (read as written). A code not listed here (withdrawn, such as DEM, or private) is not checked.
"""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 (list one, 2024): the codes whose minor unit is not 2, then those whose minor unit is 2. Codes
# with no minor unit ("N.A.": XAU, XAG, XPD, XPT, XDR, XBA-XBD, XSU, XTS, XXX) are left out, as unknown.


def _codes(text: str) -> list[str]:
    return text.split()


_OTHER_THAN_TWO = {
    **dict.fromkeys(_codes("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"), 0),
    **dict.fromkeys(_codes("BHD IQD JOD KWD LYD OMR TND"), 3),
    **dict.fromkeys(_codes("CLF UYW"), 4),
}
_TWO = _codes(
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE "
    "CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD "
    "HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU "
    "MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG "
    "SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST "
    "XCD XCG YER ZAR ZMW ZWG"
)
MINOR_UNITS: dict[str, int] = {**dict.fromkeys(_TWO, 2), **_OTHER_THAN_TWO}


def minor_units(currency: str) -> int | None:
    """The places an amount in ``currency`` may have, or None for a code this table does not know."""
    return MINOR_UNITS.get(currency)


def places(amount: Decimal) -> int:
    """The places ``amount`` holds, trailing zeros not counted: ``500.00`` has none, ``1.250`` two."""
    exponent = amount.normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # noqa: S101 - a cart's amounts are finite
    return max(-exponent, 0)
