"""Object stores: a local folder (default) and S3."""
