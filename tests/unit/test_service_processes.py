"""One builder of a service's process (cli/service_processes.py): `cloudmall services run` and the
tests' topologies start `cloudmall serve --service` with the same command line and environment."""

from __future__ import annotations

import ast
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from cloudmall.cli.service_processes import serve_command, service_environments
from cloudmall.config import SERVICE_PEERS, ServiceName

ROOT = Path(__file__).resolve().parents[2]
BUILDER = ROOT / "src" / "cloudmall" / "cli" / "service_processes.py"


def test_the_command_serves_the_service_on_its_port() -> None:
    command = serve_command(ServiceName.ORDERS, 8103, demo=False)
    assert command[1:] == [
        "-m", "cloudmall", "serve", "--service", "orders",
        "--host", "127.0.0.1", "--port", "8103", "--no-demo",
    ]  # fmt: skip
    assert "--no-demo" not in serve_command(ServiceName.PRODUCTS, 8102)


def test_each_environment_has_its_database_folder_peers_and_keys(tmp_path: Path) -> None:
    urls = {service: f"http://127.0.0.1:{9000 + i}" for i, service in enumerate(ServiceName)}
    envs = service_environments(
        base={"KEPT": "1"},
        databases={service: f"sqlite+aiosqlite:///{service.value}.db" for service in ServiceName},
        urls=urls,
        var_dir=tmp_path,
        broker_url="redis://127.0.0.1:6379/0",
    )
    secrets = {env["CLOUDMALL_INTERNAL_SECRET"] for env in envs.values()}
    assert len(secrets) == 1 and len(secrets.pop()) >= 32
    assert len({env["CLOUDMALL_VAR_DIR"] for env in envs.values()}) == len(ServiceName)
    for service, env in envs.items():
        assert env["KEPT"] == "1" and env["CLOUDMALL_SERVICE"] == service.value
        assert env["CLOUDMALL_DATABASE_URL"] == f"sqlite+aiosqlite:///{service.value}.db"
        peers = {key for key in env if key.endswith("_URL") and key[10:-4].lower() in urls}
        assert peers == {f"CLOUDMALL_{peer.value.upper()}_URL" for peer in SERVICE_PEERS[service]}
        assert env["CLOUDMALL_BROKER_URL"] == "redis://127.0.0.1:6379/0"
    signing = envs[ServiceName.USERS]["CLOUDMALL_TOKEN_SIGNING_KEY"]
    public = load_pem_private_key(signing.encode(), password=None).public_key()
    for service in ServiceName:
        if service is not ServiceName.USERS:
            assert "CLOUDMALL_TOKEN_SIGNING_KEY" not in envs[service]
            verify = envs[service]["CLOUDMALL_TOKEN_VERIFY_KEYS"].encode()
            assert load_pem_public_key(verify) == public  # the users service's own key


def _builds_a_serve_command(path: Path) -> bool:
    """Spells out `serve --service` in a list (a command line of its own)."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.List):
            words = {e.value for e in node.elts if isinstance(e, ast.Constant)}
            if {"serve", "--service"} <= words:
                return True
    return False


def test_nothing_else_builds_a_services_command_line() -> None:
    found = [
        str(path.relative_to(ROOT))
        for base in (ROOT / "src", ROOT / "tests")
        for path in sorted(base.rglob("*.py"))
        if path not in (BUILDER, Path(__file__).resolve()) and _builds_a_serve_command(path)
    ]
    assert found == []
    assert _builds_a_serve_command(BUILDER)  # the check sees one
