"""How a service of the services topology is started: its `cloudmall serve --service` command
line, and each service's environment (its database and folder, its peers' URLs, the shared
secret, the token keys: the users service signs, the others verify). `cloudmall services run`
starts its processes with these, and so do the tests' topologies."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

from cloudmall.bootstrap import new_signing_key
from cloudmall.config import MIN_INTERNAL_SECRET_BYTES, SERVICE_PEERS, ServiceName

HOST = "127.0.0.1"


def serve_command(service: ServiceName, port: int, *, demo: bool = True) -> list[str]:
    """`cloudmall serve --service SERVICE` on `port` of the loopback address."""
    command = [sys.executable, "-m", "cloudmall", "serve", "--service", service.value]
    command += ["--host", HOST, "--port", str(port)]
    return command if demo else [*command, "--no-demo"]


def service_folder(var_dir: Path, service: ServiceName) -> Path:
    return (var_dir / "services" / service.value).resolve()


def service_environments(
    *,
    base: Mapping[str, str],
    databases: Mapping[ServiceName, str],
    urls: Mapping[ServiceName, str],
    var_dir: Path,
    secret: str | None = None,
    public_url: str | None = None,
    broker_url: str | None = None,
) -> dict[ServiceName, dict[str, str]]:
    """Each service's environment over `base`; `secret` (the internal routes') is made for the
    run unless given, and a service with `broker_url` relays its outbox and consumes its peers'."""
    signing_key, public_key = new_signing_key()
    secret = secret or secrets.token_urlsafe(MIN_INTERNAL_SECRET_BYTES)
    environments = {}
    for service in ServiceName:
        env = {
            **base,
            "CLOUDMALL_SERVICE": service.value,
            "CLOUDMALL_RUNTIME": "service",
            "CLOUDMALL_DATABASE_URL": databases[service],
            "CLOUDMALL_VAR_DIR": str(service_folder(var_dir, service)),
            "CLOUDMALL_INTERNAL_SECRET": secret,
            "OTEL_SERVICE_NAME": f"cloudmall-{service.value}",
            "PYTHONUNBUFFERED": "1",  # each service's log lines as they happen
        }
        for peer in SERVICE_PEERS[service]:
            env[f"CLOUDMALL_{peer.value.upper()}_URL"] = urls[peer]
        if service is ServiceName.USERS:
            env["CLOUDMALL_TOKEN_SIGNING_KEY"] = signing_key
        else:
            env["CLOUDMALL_TOKEN_VERIFY_KEYS"] = public_key.pem()
        if public_url:
            env["CLOUDMALL_PUBLIC_URL"] = public_url
        if broker_url:
            env["CLOUDMALL_BROKER_URL"] = broker_url
        environments[service] = env
    return environments
