"""Build the CDK App: the pattern stacks, the security baseline, cdk-nag as a validation plugin."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import Annotations, App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from cloudmall_infra.config import DeploymentConfig
from cloudmall_infra.container_config import ContainerConfig
from cloudmall_infra.stacks import (
    ContainerShopStack,
    MicroservicesShopStack,
    SecurityBaselineStack,
    ServerlessShopStack,
    ShoppingMallStack,
    ShopPipelineStack,
    SingleServerStack,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUTDIR = REPO_ROOT / "cdk.out"
STATIC_DIR = REPO_ROOT / "src" / "cloudmall" / "web" / "static"

SHOPPING_MALL_STACK = "ShoppingMall"
SINGLE_SERVER_STACK = "SingleServer"
CONTAINER_SHOP_STACK = "ContainerShop"
CONTAINER_SHOP_STAGING_STACK = "ContainerShopStaging"
PIPELINE_STACK = "ShopPipeline"
SERVERLESS_STACK = "ServerlessShop"
SECURITY_BASELINE_STACK = "SecurityBaseline"
MICROSERVICES_STACK = "MicroservicesShop"


def build_app(
    *,
    outdir: str | os.PathLike[str] | None = None,
    context: Mapping[str, Any] | None = None,
    nag: bool = True,
) -> App:
    """The App with its stacks (not yet synthesized).

    ``outdir`` defaults to ``$CDK_OUTDIR`` (set by the CDK CLI) or ``<repo>/cdk.out``, so the
    app writes to the same place from any working directory.
    """
    outdir = outdir or os.environ.get("CDK_OUTDIR") or DEFAULT_OUTDIR
    app = App(
        outdir=str(outdir),
        context=dict(context or {}),
        analytics_reporting=False,
    )
    config = DeploymentConfig.from_context(app)
    # Explicit zones, stored where Stack.availability_zones looks, so nothing is looked up.
    app.node.set_context(
        f"availability-zones:account={config.account}:region={config.region}",
        config.availability_zones,
    )
    env = Environment(account=config.account, region=config.region)
    ShoppingMallStack(
        app,
        SHOPPING_MALL_STACK,
        config=config,
        static_dir=STATIC_DIR,
        env=env,
        description="cloudmall: the guide's shopping mall (3-tier, Multi-AZ, autoscaling)",
    )
    SingleServerStack(
        app,
        SINGLE_SERVER_STACK,
        config=config,
        env=env,
        description="cloudmall: the guide's pattern 1 (single server, event site)",
    )
    from cloudmall_infra.lambda_package import deploy_dir  # here: runnable with -m on its own

    ServerlessShopStack(
        app,
        SERVERLESS_STACK,
        config=config,
        static_dir=STATIC_DIR,
        code_dir=Path(str(app.node.try_get_context("lambda_package") or deploy_dir())),
        env=env,
        description="cloudmall: the guide's pattern 6 (serverless: API Gateway, Lambda, RDS Proxy)",
    )
    SecurityBaselineStack(
        app,
        SECURITY_BASELINE_STACK,
        config=config,
        env=env,
        description="cloudmall: the guide's security checklist, account side (once per region)",
    )
    _container_stacks(app, config, env)
    MicroservicesShopStack(
        app,
        MICROSERVICES_STACK,
        config=config,
        env=env,
        description="cloudmall: the guide's pattern 7 (microservices: four services on EKS)",
    )
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def _container_stacks(app: App, config: DeploymentConfig, env: Environment) -> None:
    """Pattern 5: the image on ECS in two stages and the pipeline that deploys it."""
    container_config = ContainerConfig.from_context(
        app, account=config.account, region=config.region
    )
    production = ContainerShopStack(
        app,
        CONTAINER_SHOP_STACK,
        config=config,
        container_config=container_config,
        stage="production",
        env=env,
        description="cloudmall: the guide's pattern 5 on ECS Fargate (production)",
    )
    staging = ContainerShopStack(
        app,
        CONTAINER_SHOP_STAGING_STACK,
        config=config,
        container_config=container_config,
        stage="staging",
        repository=production.repository,
        min_capacity=1,
        max_capacity=2,
        env=env,
        description="cloudmall: the guide's pattern 5 on ECS Fargate (staging)",
    )
    Annotations.of(staging).acknowledge_warning(
        "@aws-cdk/core:crossStackReferencesDefaultStrong",
        "Staging runs images from production's repository: a strong reference (an export) is "
        "wanted, so the repository cannot be deleted while staging still uses it.",
    )
    ShopPipelineStack(
        app,
        PIPELINE_STACK,
        container_config=container_config,
        repository=production.repository,
        staging=staging.shop,
        production=production.shop,
        alarm_email=config.alarm_email,
        env=env,
        description="cloudmall: GitHub → CodeBuild → staging → approval → production (ECS)",
    )
