"""Redaction of contact details (e-mail addresses, phone numbers, @handles, URLs) in free text."""

from __future__ import annotations

import re

REMOVED = "[removed]"

_URL = re.compile(
    r"(?:https?://|www\.)\S+"
    r"|\b(?:t\.me|telegram\.me|vk\.com|instagram\.com|facebook\.com|fb\.com|linkedin\.com)/\S*"
    r"|\b[a-z0-9][a-z0-9.-]*\.(?:com|org|net|by|lt|ru|ua|pl|eu|io|me|info|de|uk)(?:/\S*)?(?![\w.])",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,}")
# A run of digits with the separators people type in phone numbers; its digit count decides.
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().\-]{4,}\d(?!\w)")


_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(?!\d)|\d{1,2}[./]\d{1,2}[./]\d{2,4}(?!\d)")
# A decimal number: an Excel serial date and time ("44743.5625"), a weight, a rating mean. A phone
# number stored as a number keeps its 7+ digits before the point ("861234567.0").
_DECIMAL = re.compile(r"\d{1,6}\.\d+")


def _phone(m: re.Match) -> str:
    s = m.group(0)
    if _DATE.match(s) or _DECIMAL.fullmatch(s):  # "2022-06-01 10", "01.06.2022 10": a date and time
        return s
    digits = sum(ch.isdigit() for ch in s)
    # International (+...) numbers from 7 digits, anything else from 9 digits
    # (Lithuanian mobiles "8 612 34567" have 9; years like "2020-2022" have 8).
    if digits >= (7 if s.startswith("+") else 9):
        return REMOVED
    return s


def redact(text: str) -> str:
    """Replace e-mail addresses, URLs, @handles and phone numbers in `text` by ``[removed]``."""
    if not isinstance(text, str):
        raise TypeError(f"redact() needs a str, got {type(text).__name__}")
    out = _EMAIL.sub(REMOVED, text)
    out = _URL.sub(REMOVED, out)
    out = _HANDLE.sub(REMOVED, out)
    out = _PHONE.sub(_phone, out)
    return out
