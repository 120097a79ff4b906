"""Password hashing (argon2id) and bearer tokens: the only places secrets are handled."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

USER_TOKEN_PREFIX = "tgu_"
DEVICE_TOKEN_PREFIX = "tgd_"
MIN_PASSWORD_CHARS = 10

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash with the library's RFC 9106 defaults (about 50 ms here, on purpose)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, *, username: str) -> str | None:
    """Why a new password is refused, or None.

    >>> password_problem("short", username="ann")
    'expected at least 10 characters, got 5'
    """
    if len(password) < MIN_PASSWORD_CHARS:
        return f"expected at least {MIN_PASSWORD_CHARS} characters, got {len(password)}"
    if username.lower() in password.lower():
        return "expected a password that does not contain the username"
    return None


def new_token(kind: Literal["user", "device"]) -> tuple[str, str]:
    """(token, its SHA-256 hex): the token is shown once, only the hash is stored."""
    prefix = USER_TOKEN_PREFIX if kind == "user" else DEVICE_TOKEN_PREFIX
    token = prefix + secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same_text(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
