"""Common passwords (zxcvbn's bundled frequency lists) are refused whenever a
password is set: on the command line and through the API."""

from __future__ import annotations

from typing import Any

import pytest

from fleet_server.users.passwords import WeakPassword, check_strength
from tests.server.users.test_users import create_admin

COMMON = ["password1234", "123456789012", "qwertyuiop12"]


@pytest.mark.parametrize("password", COMMON)
def test_common_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPassword, match=r"^mật khẩu quá phổ biến.* / a common password"):
        check_strength(password, "an.nguyen")


def test_a_long_uncommon_password_passes() -> None:
    check_strength("Bang-tin-Lai-Chau-2026", "an.nguyen")


@pytest.mark.parametrize("password", COMMON)
def test_create_admin_refuses_a_common_password(db_url: str, db: Any, password: str) -> None:
    done = create_admin(db_url, "an.nguyen", password)
    assert done.returncode == 2
    assert "mật khẩu quá phổ biến" in done.stderr
    assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)
