"""The access board (services.ports.AccessBoard): on Redis, or in this process."""
