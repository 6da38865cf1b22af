"""The password policy (NIST SP 800-63B, ASVS V6): one error code, a reason per rule."""

from __future__ import annotations

import pytest

from cloudmall.domain.errors import PasswordRejected
from cloudmall.services.password_policy import REASONS, check_password

EMAIL = "Jane.Doe@example.com"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "too_short"),
        ("ｓｈｏｒｔ７", "too_short"),  # 7 full-width characters: NFKC first, then counted
        ("x" * 1025, "too_long"),
        (" " * 8, "only_spaces"),
        ("\u3000\t \n \u00a0  ", "only_spaces"),
        ("jane.doe@example.com", "personal"),
        ("JANE.DOE", "personal"),
        ("CloudMall", "personal"),
        ("aaaaaaaaaaaa", "too_common"),
        ("abcdefghijkl", "too_common"),
        ("12345678", "too_common"),
        ("0123456789", "too_common"),
        ("password", "too_common"),
        ("Password1", "too_common"),
        ("qwerty123", "too_common"),
        ("iloveyou", "too_common"),
        ("qwertyuiop", "too_common"),
        ("cloudmall1", "too_common"),  # the shop's name, barely changed
        ("janedoe123", "too_common"),  # the email's name, barely changed
    ],
)
def test_weak_passwords_are_refused_with_one_code_and_a_reason(password: str, reason: str) -> None:
    with pytest.raises(PasswordRejected) as refused:
        check_password(password, email=EMAIL)
    assert refused.value.code == "password_rejected"
    assert refused.value.reason == reason and refused.value.message == REASONS[reason]


@pytest.mark.parametrize(
    "password",
    [
        "a long enough passphrase",
        "correct-horse-battery-staple",
        "k3Hq9zLp",
        "비밀번호는길게만들자",  # Korean passphrases are fine
        "correct horse battery staple " * 30,  # long: only its first 72 characters are estimated
    ],
)
def test_good_passwords_pass(password: str) -> None:
    check_password(password, email=EMAIL)
