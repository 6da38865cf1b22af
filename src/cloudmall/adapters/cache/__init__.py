"""Cache adapters: in-process (default) and Redis."""
