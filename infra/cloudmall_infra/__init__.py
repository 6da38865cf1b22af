"""AWS CDK (Python) infrastructure for cloudmall.

One Construct per logical unit (network, data, cache, web tier, cdn, monitoring, backup, app role),
Stacks per pattern of the guide (``stacks/``), and :func:`build_app` to put them in an App.
Never imported by ``src/cloudmall``.
"""

from cloudmall_infra.app_builder import build_app

__all__ = ["build_app"]
