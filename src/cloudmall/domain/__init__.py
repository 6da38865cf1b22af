"""Entities and rules of the shop. Standard library only; imports nothing else of ours."""
