"""Use cases of the shop. They depend on the ports in `ports.py`, never on adapters."""
