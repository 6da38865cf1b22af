"""AWS CDK (Python) infrastructure for cloudmall.

One Construct per logical unit (network, data, cache, web tier, cdn, monitoring, backup, restore
tests, app role; for the account: audit trail, threat detection, Config rules, password policy),
Stacks per pattern of the guide and the security baseline (``stacks/``), and :func:`build_app` to
put them in an App.
Never imported by ``src/cloudmall``.
"""

from cloudmall_infra.app_builder import build_app

__all__ = ["build_app"]
