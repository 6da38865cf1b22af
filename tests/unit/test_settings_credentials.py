"""Database and cache credentials given apart from their URLs (ECS task secrets)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cloudmall.config import Settings


def test_credentials_go_into_the_urls_url_encoded(tmp_path) -> None:
    settings = Settings(
        var_dir=tmp_path,
        database_url="mysql+asyncmy://db.internal:3306/cloudmall",
        database_username="cloudmall",
        database_password="p@ss/word",
        cache_url="rediss://cache.internal:6379/0",
        cache_password="t0k:en",
    )
    assert (
        settings.database_url
        == "mysql+asyncmy://cloudmall:p%40ss%2Fword@db.internal:3306/cloudmall"
    )
    assert settings.cache_url == "rediss://:t0k%3Aen@cache.internal:6379/0"


def test_urls_stay_as_given_without_separate_credentials(tmp_path) -> None:
    url = "mysql+asyncmy://root@127.0.0.1:3306/shop"
    assert Settings(var_dir=tmp_path, database_url=url).database_url == url


def test_credentials_given_twice_are_refused(tmp_path) -> None:
    with pytest.raises(ValidationError, match="credentials given twice"):
        Settings(
            var_dir=tmp_path,
            database_url="mysql+asyncmy://root:old@db:3306/shop",
            database_password="new",
        )


def test_a_password_without_a_server_url_is_refused(tmp_path) -> None:
    with pytest.raises(ValidationError, match="without a host"):
        Settings(var_dir=tmp_path, cache_url="memory://", cache_password="secret")
