"""`cloudmall gateway config`: the services topology's one public port, an nginx config written
from the ownership table (web.service_routes), so the gateway and the services never disagree
on who answers a route.

- each public route goes to its service: nginx matches "METHOD /path" against each route's
  template (a `map` of regular expressions), and sends whatever no route names — the
  storefront's files, the API docs — to the storefront's service (service_routes.STOREFRONT);
- `/internal/` answers 404: the services' own calls never pass the gateway;
- a service that cannot be reached answers 503 with `Retry-After: 5` and the app's error body
  (`dependency_unavailable`), not nginx's HTML page;
- the client's address goes in X-Forwarded-For (replacing what the client sent: the gateway is
  the edge) for the services' trusted-proxy rule (FORWARDED_ALLOW_IPS: the gateway's address).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from cloudmall.config import ServiceName
from cloudmall.web.errors import error_body
from cloudmall.web.service_routes import OWNERSHIP, STOREFRONT

gateway_app = typer.Typer(help="The services topology's gateway (nginx).", no_args_is_help=True)

#: The largest body the gateway passes on: an image upload (the app checks its own limit).
MAX_BODY = "10m"
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = error_body(
    "dependency_unavailable", "This part of the shop is unavailable; try again shortly"
)
NOT_FOUND = error_body("not_found", "Not found")

_PATH_PARAMETER = re.compile(r"\{(\w+)(:path)?\}")


def route_pattern(method: str, template: str) -> str:
    """An nginx regular expression matching "METHOD /path" for a FastAPI path template."""
    parts = []
    position = 0
    for match in _PATH_PARAMETER.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        parts.append(".+" if match.group(2) else "[^/]+")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return f"^{method} {''.join(parts)}$"


def _nginx_string(text: str) -> str:
    """`text` as an nginx single-quoted string."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render(upstreams: Mapping[ServiceName, str], *, listen: str, prefix: Path | None = None) -> str:
    """The whole nginx.conf: `upstreams` maps each service to its host:port; `prefix` (the
    folder nginx runs in, for its pid, logs and temporary files) makes it runnable by a user
    without root, as `nginx -p PREFIX -c FILE`."""
    missing = [service.value for service in ServiceName if service not in upstreams]
    if missing:
        raise ValueError(f"no address for the {', '.join(missing)} service")
    routes = sorted(
        (route_pattern(method, template), service)
        for service, owned in OWNERSHIP.items()
        for method, template in owned
    )
    map_lines = "\n".join(
        f"        {_nginx_string('~' + pattern)} {service.value};" for pattern, service in routes
    )
    upstream_blocks = "\n".join(
        f"    upstream cloudmall_{service.value} {{\n"
        f"        server {upstreams[service]} max_fails=0;\n"
        "        keepalive 16;\n"
        "    }"
        for service in ServiceName
    )
    process = ""
    temp_paths = ""
    if prefix is not None:
        process = f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
        temp_paths = "".join(
            f"    {kind}_temp_path {prefix}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
    return f"""# Written by `cloudmall gateway config` from web/service_routes.py: do not edit.
worker_processes 1;
{process}events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp_paths}    client_max_body_size {MAX_BODY};
{upstream_blocks}
    # "METHOD /path" → the service answering it; anything else → the storefront's service.
    map "$request_method $uri" $cloudmall_service {{
        default {STOREFRONT.value};
{map_lines}
    }}
    server {{
        listen {listen};
        location ^~ /internal/ {{
            default_type application/json;
            return 404 {_nginx_string(json.dumps(NOT_FOUND))};
        }}
        location / {{
            proxy_pass http://cloudmall_$cloudmall_service;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 1s;
            proxy_next_upstream error timeout;
            error_page 502 504 = @unavailable;
        }}
        location @unavailable {{
            default_type application/json;
            add_header Retry-After {RETRY_AFTER_SECONDS} always;
            return 503 {_nginx_string(json.dumps(UNAVAILABLE))};
        }}
    }}
}}
"""


def parse_upstreams(pairs: list[str]) -> dict[ServiceName, str]:
    """["users=127.0.0.1:8101", …] → {users: "127.0.0.1:8101", …}."""
    upstreams = {}
    for pair in pairs:
        name, _, address = pair.partition("=")
        try:
            service = ServiceName(name)
        except ValueError:
            names = ", ".join(ServiceName)
            raise typer.BadParameter(f"{name!r} is not a service ({names})") from None
        if not address:
            raise typer.BadParameter(f"{pair!r}: give SERVICE=HOST:PORT")
        upstreams[service] = address.removeprefix("http://").rstrip("/")
    return upstreams


@gateway_app.command("config")
def config(
    service: Annotated[
        list[str],
        typer.Option(
            "--service",
            "-s",
            help="SERVICE=HOST:PORT, once per service (users, products, orders, payments)",
        ),
    ],
    listen: Annotated[str, typer.Option(help="the gateway's public address")] = "127.0.0.1:8000",
    prefix: Annotated[
        Path | None,
        typer.Option(help="the folder nginx runs in (pid, logs, temporary files)"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option(help="write here (default: standard output)")
    ] = None,
) -> None:
    """Write the gateway's nginx config from the services' ownership table."""
    from cloudmall.cli.runner import fail

    try:
        text = render(parse_upstreams(service), listen=listen, prefix=prefix)
    except ValueError as exc:
        raise fail(str(exc)) from None
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
