"""Refresh tokens as items: each token by its hash, an entry per token in its account's partition
(by expiry), and one item per family that holds what the family shares — its account, whether
it is revoked, how many tokens it has.

A family is revoked by one write to its item, however many tokens it has had; every change of a
family item is conditioned on the version it read, so a rotation, a log-out and a replay that
race over one family are serialised (the loser's transaction is refused and runs again).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cloudmall.adapters.dynamodb.table import (
    SESSION,
    TTL,
    epoch_seconds,
    family_key,
    moment,
    refresh_token_key,
    session_key,
    timestamp,
    user_key,
)
from cloudmall.adapters.dynamodb.transaction import DynamoTransaction
from cloudmall.domain.sessions import NewRefreshToken, RefreshToken
from cloudmall.services.ports import RetryableConflict

#: Ended tokens one `delete_expired` clears (two items each, plus their families): within a
#: transaction's 100 items beside a log-in's own writes. The rest go at the next log-in, or by
#: the table's time to live.
MAX_DELETED = 25
_ABSENT = "attribute_not_exists(#PK)"


def _changed() -> Exception:
    return RetryableConflict("the session changed meanwhile")


def _token(item: dict[str, Any], family: dict[str, Any]) -> RefreshToken:
    rotated, revoked = item.get("rotated_at"), family.get("revoked_at")
    return RefreshToken(
        id=int(item["id"]),
        family=item["family"],
        user_id=int(item["user_id"]),
        token_hash=item["token_hash"],
        created_at=moment(item["created_at"]),
        expires_at=moment(item["expires_at"]),
        rotated_at=moment(rotated) if rotated else None,
        revoked_at=moment(revoked) if revoked else None,
    )


class DynamoRefreshTokenRepository:
    def __init__(self, tx: DynamoTransaction) -> None:
        self._tx = tx
        self._hashes: dict[int, str] = {}  # the tokens this unit of work read or added, by id
        # Families as this unit of work read them, and as it leaves them (None: deleted); each
        # changed one is written once, at commit.
        self._read: dict[str, dict[str, Any] | None] = {}
        self._families: dict[str, dict[str, Any] | None] = {}
        self._flush_pending = False

    async def _family(self, family: str) -> dict[str, Any] | None:
        if family not in self._families:
            item = await self._tx.get(family_key(family))
            self._read[family] = self._families[family] = item
        found = self._families[family]
        return dict(found) if found is not None else None

    def _leave(self, family: str, item: dict[str, Any] | None) -> None:
        self._families[family] = item
        if not self._flush_pending:
            self._flush_pending = True
            self._tx.before_commit.append(self._flush)

    async def _flush(self) -> None:
        """One write per changed family, conditioned on the version this unit of work read."""
        self._flush_pending = False
        for family, after in self._families.items():
            before = self._read[family]
            if after == before:
                continue
            read = {":version": before["version"]} if before else None
            condition = "#version = :version" if before else _ABSENT
            if after is None:
                self._tx.delete(
                    family_key(family), condition=condition, values=read, refused=_changed
                )
            else:
                after = {**after, "version": int(after["version"]) + 1}
                self._tx.put(after, condition=condition, values=read, refused=_changed)
            self._read[family] = self._families[family] = after

    async def add(self, new: NewRefreshToken) -> RefreshToken:
        token_id = await self._tx.next_ids("refresh_token")
        expires = epoch_seconds(new.expires_at)
        key = refresh_token_key(new.token_hash)
        item = {
            "PK": key[0],
            "SK": key[1],
            "id": token_id,
            "family": new.family,
            "user_id": new.user_id,
            "token_hash": new.token_hash,
            "created_at": timestamp(new.created_at),
            "expires_at": timestamp(new.expires_at),
            TTL: expires,
        }
        self._tx.put(item, condition=_ABSENT, refused=_changed)
        entry = session_key(new.user_id, new.expires_at, token_id)
        self._tx.put(
            {
                "PK": entry[0],
                "SK": entry[1],
                "family": new.family,
                "token_hash": new.token_hash,
                TTL: expires,
            },
            condition=_ABSENT,
            refused=_changed,
        )
        family = await self._family(new.family)
        if family is None:
            fkey = family_key(new.family)
            family = {"PK": fkey[0], "SK": fkey[1], "user_id": new.user_id, "tokens": 0}
            family.update({"version": 0, TTL: expires})
        family["tokens"] = int(family["tokens"]) + 1
        family[TTL] = max(int(family[TTL]), expires)
        self._leave(new.family, family)
        self._hashes[token_id] = new.token_hash
        return RefreshToken(
            id=token_id,
            family=new.family,
            user_id=new.user_id,
            token_hash=new.token_hash,
            created_at=new.created_at,
            expires_at=new.expires_at,
        )

    async def by_hash(self, token_hash: str) -> RefreshToken | None:
        """(No lock: `rotate` is a conditional write, and family changes are versioned.)"""
        item = await self._tx.get(refresh_token_key(token_hash))
        family = await self._family(item["family"]) if item else None
        if item is None or family is None:  # a family cleared away takes its tokens with it
            return None
        self._hashes[int(item["id"])] = token_hash
        return _token(item, family)

    async def rotate(self, token_id: int, at: datetime) -> bool:
        """`token_id` is a token this unit of work read (`by_hash`) or added."""
        if token_id not in self._hashes:
            raise LookupError(f"refresh token {token_id} was not read in this unit of work")
        key = refresh_token_key(self._hashes[token_id])
        item = await self._tx.get(key)
        family = await self._family(item["family"]) if item else None
        if item is None or family is None or "rotated_at" in item or "revoked_at" in family:
            return False
        self._tx.update(
            key,
            set_={"rotated_at": timestamp(at)},
            condition="attribute_exists(#PK) AND attribute_not_exists(#rotated_at)",
            after={**item, "rotated_at": timestamp(at)},
            refused=_changed,  # another refresh rotated it first: run again, and see it used
        )
        return True

    async def revoke_family(self, family: str, at: datetime) -> int:
        found = await self._family(family)
        if found is None or "revoked_at" in found:
            return 0
        self._leave(family, {**found, "revoked_at": timestamp(at)})
        return int(found["tokens"])

    async def revoke_user(self, user_id: int, at: datetime) -> int:
        entries = await self._tx.query(user_key(user_id)[0], prefix=SESSION)
        families = dict.fromkeys(entry["family"] for entry in entries)
        return sum([await self.revoke_family(family, at) for family in families])

    async def delete_expired(self, user_id: int, now: datetime) -> int:
        """At most MAX_DELETED tokens at a time (see there)."""
        until = f"{SESSION}{timestamp(now)}#~"  # "~" sorts after every id
        entries = await self._tx.query(
            user_key(user_id)[0], since=SESSION, until=until, limit=MAX_DELETED
        )
        for entry in entries[:MAX_DELETED]:
            self._tx.delete((entry["PK"], entry["SK"]), refused=_changed)
            self._tx.delete(refresh_token_key(entry["token_hash"]), refused=_changed)
            family = await self._family(entry["family"])
            if family is not None:
                left = int(family["tokens"]) - 1
                self._leave(entry["family"], {**family, "tokens": left} if left > 0 else None)
        return len(entries[:MAX_DELETED])
