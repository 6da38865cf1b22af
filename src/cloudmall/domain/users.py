"""Shop users: customers and staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    name: str
    role: Role
    password_hash: str
    created_at: datetime
    token_version: int = 0  # raised on each password change; older tokens stop working
    phone: str = ""  # optional, for delivery questions
    language: str = "ko"  # the storefront's language at sign-up: the one its mails are written in
    # An initial password the shop made up and printed (staff): to be replaced at the first log-in.
    must_change_password: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


#: The languages the shop writes in (the storefront's); the first is the default.
LANGUAGES = ("ko", "en")


def normalize_language(language: str | None) -> str:
    """One of LANGUAGES: an unknown or missing one is the default."""
    return language if language in LANGUAGES else LANGUAGES[0]


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively: stored and looked up in one canonical form."""
    return email.strip().lower()
