"""Password hashing (Argon2id) and the rules a new password must meet."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fleet_server.errors import Invalid

_HASHER = PasswordHasher()
MIN_LENGTH = 12
#: zxcvbn scores below this (fewer than 10^6 guesses) are refused.
GUESSABLE_SCORE = 2


class WeakPassword(Invalid):
    """A password that does not meet the rules, with the reason."""

    kind = "weak-password"


def check_strength(password: str, username: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if username.lower() in password.lower():
        raise WeakPassword("a password must not contain the user name")
    if len(set(password)) < 5:
        raise WeakPassword("a password needs more different characters")
    if _easily_guessed(password, username):
        raise WeakPassword(
            "mật khẩu quá phổ biến, dễ đoán (có trong danh sách mật khẩu thường dùng)"
            " / a common password, easily guessed (it is on the lists of common passwords)"
        )


def _easily_guessed(password: str, username: str) -> bool:
    """zxcvbn's estimate, from its bundled frequency lists of leaked passwords,
    common words and keyboard patterns: under a million guesses (its score 0
    or 1) is refused, e.g. ``password1234`` or ``qwertyuiop12``."""
    from zxcvbn import zxcvbn  # type: ignore[import-untyped]  # noqa: PLC0415 - loads its lists on first use

    return bool(zxcvbn(password[:100], user_inputs=[username])["score"] < GUESSABLE_SCORE)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
