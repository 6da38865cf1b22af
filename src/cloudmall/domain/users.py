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

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively: stored and looked up in one canonical form."""
    return email.strip().lower()
