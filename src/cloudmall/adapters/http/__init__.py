"""Calls to the other services of the services topology, over HTTP."""
