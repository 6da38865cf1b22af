"""The container image (Dockerfile) answers the guide's calls, run as AWS runs it.

`make image-test` builds the image and runs this module with CLOUDMALL_IMAGE set; `.ci/run` runs
it on every CI machine. The container runs with a read-only root filesystem, on the host's
network, against a scratch MariaDB database and Redis; migrations run as a one-off container
first, as the ECS deployment does.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cloudmall.adapters.security.signing_keys import generate_private_pem
from tests.support import ADDRESS, card, free_port, redis_url, scratch_database

IMAGE = os.environ.get("CLOUDMALL_IMAGE", "")
ADMIN_EMAIL = "image-admin@cloudmall.test"
ADMIN_PASSWORD = "image-test-admin-passphrase"
IMAGE_UID = "10001"
# runc with explicit limits: CI machines' mixed cgroups make crun refuse to start containers
PODMAN_ENV = {
    **os.environ,
    "CONTAINERS_CONF": os.environ.get(
        "CONTAINERS_CONF", str(Path(__file__).resolve().parents[2] / ".ci" / "containers.conf")
    ),
}


def podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
        env=PODMAN_ENV,
    )


@dataclass
class Container:
    name: str
    url: str


def env_args(env: dict[str, str]) -> list[str]:
    return [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    if not IMAGE:
        pytest.fail("CLOUDMALL_IMAGE is not set: run `make image-test`, which builds the image")
    if shutil.which("podman") is None:
        pytest.fail("podman is required for the image test (.ci/run installs it)")
    tmp_path: Path = tmp_path_factory.mktemp("image")
    port = free_port()
    with scratch_database("mariadb", tmp_path) as database_url:
        env = {
            "CLOUDMALL_ENVIRONMENT": "production",
            "CLOUDMALL_SECRET_KEY": secrets.token_urlsafe(48),
            "CLOUDMALL_TOKEN_SIGNING_KEY": generate_private_pem(),  # production requires one
            "CLOUDMALL_DATABASE_URL": database_url,
            "CLOUDMALL_CACHE_URL": redis_url(),
            "CLOUDMALL_PORT": str(port),
            "CLOUDMALL_SIGNUPS_PER_CLIENT": "1000",
        }
        one_off = ["run", "--rm", "--network", "host", "--read-only", *env_args(env), IMAGE]
        migrated = podman(*one_off, "cloudmall", "migrate", check=False)
        assert migrated.returncode == 0, migrated.stderr
        made = podman(
            *one_off,
            "cloudmall",
            "admin",
            "create",
            ADMIN_EMAIL,
            "--password",
            ADMIN_PASSWORD,
            check=False,
        )
        assert made.returncode == 0, made.stderr
        name = f"cloudmall-image-test-{secrets.token_hex(4)}"
        podman(
            "run",
            "--detach",
            "--name",
            name,
            "--network",
            "host",
            "--read-only",
            "--health-interval",
            "disable",
            *env_args(env),
            IMAGE,
        )
        container = Container(name=name, url=f"http://127.0.0.1:{port}")
        try:
            wait_until_ready(container)
            yield container
        finally:
            podman("rm", "--force", "--time", "5", name, check=False)


def wait_until_ready(container: Container, seconds: int = 90) -> None:
    for _ in range(seconds * 2):
        state = podman("inspect", "--format", "{{.State.Running}}", container.name).stdout
        if state.strip() != "true":
            logs = podman("logs", container.name, check=False)
            pytest.fail(f"the container exited:\n{logs.stdout}{logs.stderr}")
        try:
            if httpx.get(f"{container.url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        subprocess.run(["sleep", "0.5"], check=True)
    pytest.fail(f"not ready after {seconds} s:\n{podman('logs', container.name).stdout}")


def test_the_guides_calls_sign_up_list_order_pay(shop: Container) -> None:
    with httpx.Client(base_url=shop.url, timeout=30) as http:
        admin = http.post(
            "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert admin.status_code == 200, admin.text
        staff = {"Authorization": f"Bearer {admin.json()['access_token']}"}
        product = http.post(
            "/api/products",
            headers=staff,
            json={
                "name": "컨테이너 머그컵",
                "price": "15000.00",
                "description": "made by the image test",
                "category": "general",
                "stock_quantity": 3,
            },
        )
        assert product.status_code == 201, product.text
        product_id = product.json()["id"]

        signed_up = http.post(
            "/api/auth/signup",
            json={
                "email": f"shopper-{secrets.token_hex(4)}@example.com",
                "password": "a long enough passphrase",
                "name": "김철수",
                "consent": {"privacy": True, "terms": True},
            },
        )
        assert signed_up.status_code == 201, signed_up.text
        shopper = {"Authorization": f"Bearer {signed_up.json()['access_token']}"}

        listed = http.get("/api/products", params={"limit": 100})
        assert listed.status_code == 200
        assert product_id in {row["id"] for row in listed.json()}

        order = http.post(
            "/api/orders",
            headers={**shopper, "Idempotency-Key": secrets.token_hex(8)},
            json={"items": [{"productId": product_id, "quantity": 2}], "address": ADDRESS},
        )
        assert order.status_code == 201, order.text
        assert order.json()["order"]["total_amount"] == "33000.00"  # and the delivery fee

        paid = http.post(
            f"/api/orders/{order.json()['orderId']}/pay",
            headers=shopper,
            json=card("4242 4242 4242 4242"),
        )
        assert paid.status_code == 200, paid.text
        assert paid.json()["order"]["status"] == "paid"
        stock = http.get(f"/api/products/{product_id}").json()["stock_quantity"]
        assert stock == 1


def test_it_runs_as_a_non_root_user(shop: Container) -> None:
    assert podman("exec", shop.name, "id", "-u").stdout.strip() == IMAGE_UID
    server_uid = podman("exec", shop.name, "sh", "-c", "awk '/^Uid:/ {print $2}' /proc/1/status")
    assert server_uid.stdout.strip() == IMAGE_UID


def test_its_root_filesystem_stays_read_only(shop: Container) -> None:
    written = podman("exec", shop.name, "touch", "/opt/cloudmall/x", check=False)
    assert written.returncode != 0 and "Read-only file system" in written.stderr


def test_its_healthcheck_answers(shop: Container) -> None:
    assert podman("healthcheck", "run", shop.name, check=False).returncode == 0


def test_sigterm_stops_it_cleanly(shop: Container) -> None:
    """Last in the module: `podman stop` sends SIGTERM; the server drains and exits 0."""
    podman("stop", "--time", "25", shop.name)
    assert podman("inspect", "--format", "{{.State.ExitCode}}", shop.name).stdout.strip() == "0"


def test_the_final_stage_holds_no_build_tools_sources_or_secrets(shop: Container) -> None:
    found = podman(
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        IMAGE,
        "-c",
        "ls /opt/cloudmall/bin/pip /opt/build /src /wheels /run/secrets/ca 2>/dev/null;"
        " command -v gcc cc; true",
    )
    assert found.stdout.strip() == ""
    env = podman("image", "inspect", "--format", "{{json .Config.Env}}", IMAGE).stdout
    assert "SECRET" not in env and "PASSWORD" not in env
