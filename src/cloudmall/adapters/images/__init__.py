"""Image checks and thumbnails (Pillow)."""
