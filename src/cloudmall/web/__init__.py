"""The HTTP layer: translates requests to service calls and results to responses."""
