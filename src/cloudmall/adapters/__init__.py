"""Implementations of the service ports."""
