"""Schema steps taken by more than one history (the monolith's and a context's), as written."""
