"""`make synth` runs infra/app.py: from any directory, offline, into <repo>/cdk.out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra_synth import REPO_ROOT

from cloudmall_infra import app_builder
from cloudmall_infra.config import DeploymentConfig


def test_default_outdir_is_cdk_out_at_the_repo_root() -> None:
    assert app_builder.DEFAULT_OUTDIR == REPO_ROOT / "cdk.out"


def test_app_py_synthesizes_from_another_directory_without_credentials(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key != "CDK_CONTEXT_JSON"
    }
    env["CDK_OUTDIR"] = str(tmp_path / "out")  # what the CDK CLI sets; the default is cdk.out
    env["AWS_CONFIG_FILE"] = env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "infra" / "app.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.template.json")) == [
        "ContainerShop.template.json",
        "ContainerShopStaging.template.json",
        "MicroservicesShop.template.json",
        "SecurityBaseline.template.json",
        "ServerlessShop.template.json",
        "ShopPipeline.template.json",
        "ShoppingMall.template.json",
        "SingleServer.template.json",
    ]


def test_context_from_the_cli_arrives_as_strings() -> None:
    from aws_cdk import App

    app = App(
        context={
            "availability_zones": "ap-northeast-2a,ap-northeast-2b",
            "aurora": "true",
            "cors_origins": '["https://shop.example"]',
        }
    )
    config = DeploymentConfig.from_context(app)
    assert config.availability_zones == ["ap-northeast-2a", "ap-northeast-2b"]
    assert config.is_aurora
    assert config.cors_origins == ["https://shop.example"]
    assert config.certificate_is_placeholder
