"""SQLAlchemy 2 adapters: one schema for SQLite, MySQL/MariaDB and PostgreSQL."""
