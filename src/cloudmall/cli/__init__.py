"""The `cloudmall` command line (`cli.main:app`); `cli.runner` is what every command shares."""
