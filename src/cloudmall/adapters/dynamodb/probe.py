"""The table's health for /readyz and `cloudmall check`: there, active, with its indexes."""

from __future__ import annotations

from dataclasses import dataclass

from cloudmall.adapters.dynamodb.client import DynamoClient
from cloudmall.adapters.dynamodb.table import INDEXES


@dataclass(frozen=True, slots=True)
class TableProbe:
    client: DynamoClient
    name: str = "database"
    required: bool = True

    async def check(self) -> str:
        table = (await self.client.call("describe_table", TableName=self.client.table))["Table"]
        indexes = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
        if missing := sorted(set(INDEXES) - indexes):
            raise RuntimeError(f"table {self.client.table} lacks its indexes {missing}")
        return f"dynamodb {self.client.table} ({table['TableStatus'].lower()})"
