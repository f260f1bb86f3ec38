"""Keyed pseudonyms for personal data: one HMAC key (SEGWAREHOUSE_PII_KEY), never a literal in code."""

from __future__ import annotations

import hashlib
import hmac
import os

PII_KEY_ENV = "SEGWAREHOUSE_PII_KEY"


class PiiKeyError(RuntimeError):
    """SEGWAREHOUSE_PII_KEY is missing or blank."""


def pii_key() -> bytes:
    """The HMAC key for pseudonymising PII (a blank value is refused: it would key every HMAC with nothing)."""
    key = os.environ.get(PII_KEY_ENV, "")
    if not key.strip():
        raise PiiKeyError(f"{PII_KEY_ENV} is {'blank' if key else 'not set'}: it keys the HMAC that "
                          "pseudonymises PII; set it to a long random secret")
    return key.encode()


def pseudonymize(value: str, key: bytes | None = None) -> str:
    """Keyed HMAC-SHA256 of a normalised identifier (hex)."""
    return hmac.new(key or pii_key(), value.strip().lower().encode(), hashlib.sha256).hexdigest()
