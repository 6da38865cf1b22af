"""Sign-up consent: Korea's Personal Information Protection Act requires the customer's consent
to collecting their data (개인정보 수집·이용 동의); the terms of use (이용약관) are agreed with it.
Each is recorded at the version the shop shows now (settings), with the time."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from cloudmall.domain.consents import Consent, Document
from cloudmall.domain.errors import ConsentRequired


@dataclass(frozen=True, slots=True)
class LegalVersions:
    """The current version of each document a customer agrees to."""

    privacy: str
    terms: str

    def of(self, document: Document) -> str:
        return self.privacy if document is Document.PRIVACY else self.terms


def required_consents(
    agreed: Collection[str], *, versions: LegalVersions, at: datetime
) -> list[Consent]:
    """The consents to record; ConsentRequired (422) naming any required document not agreed."""
    missing = [document.value for document in Document if document.value not in agreed]
    if missing:
        raise ConsentRequired(missing)
    return [Consent(document, versions.of(document), at) for document in Document]
