"""Sign-up consents as items in their account's partition: one Query lists them, oldest first."""

from __future__ import annotations

from collections.abc import Sequence

from cloudmall.adapters.dynamodb.table import CONSENT, consent_key, moment, timestamp, user_key
from cloudmall.adapters.dynamodb.transaction import DynamoTransaction
from cloudmall.domain.consents import Consent, Document
from cloudmall.services.ports import RetryableConflict


def _taken() -> Exception:
    return RetryableConflict("consent id taken")


class DynamoConsentRepository:
    def __init__(self, tx: DynamoTransaction) -> None:
        self._tx = tx

    async def add(self, user_id: int, consents: Sequence[Consent]) -> None:
        if not consents:
            return
        first = await self._tx.next_ids("consent", len(consents))
        for number, consent in enumerate(consents, start=first):
            key = consent_key(user_id, number)
            item = {
                "PK": key[0],
                "SK": key[1],
                "document": consent.document.value,
                "version": consent.version,
                "agreed_at": timestamp(consent.agreed_at),
            }
            self._tx.put(item, condition="attribute_not_exists(#PK)", refused=_taken)

    async def for_user(self, user_id: int) -> list[Consent]:
        items = await self._tx.query(user_key(user_id)[0], prefix=CONSENT)
        return [
            Consent(Document(item["document"]), item["version"], moment(item["agreed_at"]))
            for item in items
        ]
