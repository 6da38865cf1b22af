"""What a customer agreed to at sign-up: each required document, at its version, and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Document(StrEnum):
    PRIVACY = "privacy"  # 개인정보 수집·이용 동의 (Korea's Personal Information Protection Act)
    TERMS = "terms"  # 이용약관


@dataclass(frozen=True, slots=True)
class Consent:
    document: Document
    version: str
    agreed_at: datetime
