"""`cloudmall cost`: monthly AWS cost estimates for the shopping mall.

Self-contained: imports nothing else from cloudmall. The pieces, one concept each:

- ``pricebook``: the price book (shipped JSON/TOML data or a user's file), validated.
- ``profile``: a usage profile (YAML/TOML/flags) turned into usage lines.
- ``template``: a synthesized CloudFormation template turned into a resource inventory.
- ``estimate``: pure pricing of usage lines under a purchase option.
- ``render``: terminal table, Markdown, JSON and a PNG pie chart.

The Typer commands are ``cloudmall.cli.cost``.
"""
