"""The shop on one DynamoDB table: the same ports as adapters/db, on keys and indexes."""
