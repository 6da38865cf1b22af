"""What makes a password acceptable: long enough, not absurdly long, not a well-known one."""

from __future__ import annotations

from cloudmall.domain.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 1024  # long passphrases welcome; the cap only bounds hashing work

# The most common passwords of public breach lists (top entries at 8+ characters).
COMMON_PASSWORDS = frozenset(
    {
        "12345678",
        "123456789",
        "1234567890",
        "password",
        "password1",
        "password123",
        "qwertyuiop",
        "qwerty123",
        "11111111",
        "00000000",
        "iloveyou",
        "sunshine",
        "princess",
        "football",
        "baseball",
        "welcome1",
        "admin123",
        "abc12345",
        "1q2w3e4r",
        "1q2w3e4r5t",
        "qwer1234",
        "asdf1234",
        "zxcvbnm1",
        "letmein1",
        "passw0rd",
        "p@ssw0rd",
        "trustno1",
        "superman",
        "starwars",
        "12341234",
        "87654321",
        "123123123",
        "987654321",
        "qwertyui",
        "aaaaaaaa",
        "changeme",
    }
)


def check_password(password: str, *, email: str) -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"Password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"Password must be at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or lowered == email.strip().lower():
        raise InvalidInput("This password is too common; choose another")
