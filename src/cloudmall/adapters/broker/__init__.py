"""The events broker: Redis Streams (ElastiCache on AWS)."""
