"""Backups to S3 (moto's server): parts written with the chosen storage class, and restorable."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3

from tests.conftest import shop_env
from tests.integration.backup.shop import fill
from tests.support import S3_ENV, Service, cli, new_bucket, scratch_database


def test_backup_to_s3_with_a_storage_class_and_restore(tmp_path: Path, moto: Service) -> None:
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    fill(source_url, n_orders=200)
    store = new_bucket(moto)
    env = shop_env(source_url, tmp_path, CLOUDMALL_STORAGE_URL=store, **S3_ENV)

    made = cli(env, tmp_path, "backup", "create", "--storage-class", "STANDARD_IA")
    assert made.returncode == 0, made.stderr
    found = re.search(r"backup (\S+) complete", made.stdout)
    assert found, made.stdout
    backup_id = found.group(1)

    parts = urlsplit(store)
    s3 = boto3.client(
        "s3",
        endpoint_url=parse_qs(parts.query)["endpoint_url"][0],
        region_name=S3_ENV["AWS_DEFAULT_REGION"],
        aws_access_key_id=S3_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    listed = s3.list_objects_v2(Bucket=parts.netloc, Prefix=f"backups/{backup_id}/")["Contents"]
    classes = {
        item["Key"].rsplit("/", 1)[-1]: item.get("StorageClass", "STANDARD") for item in listed
    }
    assert classes.pop("manifest.json") == "STANDARD"  # readable for `list` whatever the parts
    assert classes and set(classes.values()) == {"STANDARD_IA"}

    assert backup_id in cli(env, tmp_path, "backup", "list").stdout
    verified = cli(env, tmp_path, "backup", "verify", backup_id)
    assert verified.returncode == 0, verified.stderr
    (tmp_path / "target").mkdir()
    with scratch_database("sqlite", tmp_path / "target") as target_url:
        restored = cli(
            shop_env(target_url, tmp_path, CLOUDMALL_STORAGE_URL=store, **S3_ENV),
            tmp_path,
            "backup",
            "restore",
            backup_id,
        )
        assert restored.returncode == 0, restored.stderr
        assert "200 orders" in restored.stdout
