"""The boot script that writes /etc/cloudmall/cloudmall.env on the instances."""

from __future__ import annotations

import importlib.util
import json
import stat
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

_spec = importlib.util.spec_from_file_location(
    "render_env", REPO_ROOT / "infra" / "cloudmall_infra" / "assets" / "render_env.py"
)
assert _spec and _spec.loader
render_env = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(render_env)

CONFIG = {
    "region": "ap-northeast-2",
    "env_file": "/etc/cloudmall/cloudmall.env",
    "parameters": {
        "CLOUDMALL_ENVIRONMENT": "/p/environment",
        "CLOUDMALL_DATABASE_URL": "/p/database-url",
        "CLOUDMALL_CACHE_URL": "/p/cache-url",
        "CLOUDMALL_CORS_ORIGINS": "/p/cors-origins",
    },
    "secrets": {"CLOUDMALL_SECRET_KEY": "arn:key"},
    "url_credentials": {
        "CLOUDMALL_DATABASE_URL": {"secret_id": "arn:db", "json": True},
        "CLOUDMALL_CACHE_URL": {"secret_id": "arn:cache", "json": False},
    },
}
PARAMETERS = {
    "/p/environment": "production",
    "/p/database-url": "mysql+asyncmy://db.example:3306/cloudmall",
    "/p/cache-url": "rediss://cache.example:6379/0",
    "/p/cors-origins": '["https://cdn.example"]',
}
SECRETS = {
    "arn:key": "k" * 64,
    "arn:db": json.dumps({"username": "cloudmall", "password": "p@ss:w/rd", "host": "x"}),
    "arn:cache": "token-with=odd&chars",
}


def test_compose_splices_credentials_into_the_urls() -> None:
    env = render_env.compose(CONFIG, PARAMETERS.__getitem__, SECRETS.__getitem__)
    assert env == {
        "CLOUDMALL_ENVIRONMENT": "production",
        "CLOUDMALL_DATABASE_URL": "mysql+asyncmy://cloudmall:p%40ss%3Aw%2Frd@db.example:3306/cloudmall",
        "CLOUDMALL_CACHE_URL": "rediss://:token-with%3Dodd%26chars@cache.example:6379/0",
        "CLOUDMALL_CORS_ORIGINS": '["https://cdn.example"]',
        "CLOUDMALL_SECRET_KEY": "k" * 64,
    }


def test_render_is_systemd_environment_file_syntax() -> None:
    text = render_env.render({"CLOUDMALL_B": "two", "CLOUDMALL_A": '["https://x"]'})
    assert text == 'CLOUDMALL_A="[\\"https://x\\"]"\nCLOUDMALL_B="two"\n'


@pytest.mark.parametrize("value", ["a b", "it's", "$HOME", "`id`", "back\\slash", "new\nline"])
def test_render_refuses_values_that_need_escaping(value: str) -> None:
    with pytest.raises(ValueError):
        render_env.render({"CLOUDMALL_X": value})


def test_url_with_credentials_already_is_refused() -> None:
    with pytest.raises(ValueError):
        render_env.with_credentials("rediss://u:p@h:6379/0", "x")


def test_write_private_is_0600(tmp_path: Path) -> None:
    target = tmp_path / "etc" / "cloudmall.env"
    render_env.write_private(str(target), 'A="1"\n')
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == 'A="1"\n'
