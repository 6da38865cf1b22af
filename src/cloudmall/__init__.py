"""cloudmall: the AWS design-patterns guide's online shopping mall."""

__version__ = "0.1.0"
