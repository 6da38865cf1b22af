"""Outgoing mail: an SMTP server (SES's SMTP endpoint on AWS) or .eml files in a folder."""
