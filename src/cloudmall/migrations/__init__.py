"""Alembic migrations for cloudmall's schema (applied by `cloudmall migrate`)."""
