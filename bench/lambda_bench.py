"""The Lambda functions on this machine: cold start, warm invocations, memory, package size.

    python -m bench.lambda_bench                # make bench-lambda; SQLite in a scratch folder
    python -m bench.lambda_bench --database-url mysql://root@127.0.0.1:3306/cm_bench

Each function is measured in a fresh interpreter, as a new container would start: the import of
the handler's module, the init (settings, shop, engine, Mangum, the first round trip to each
tier), the first answer, then warm invocations of a representative event in-process (no HTTP),
and the process's peak RSS. `python -X importtime` says what the import spends its time on.
Results: a Markdown table on stdout and in var/bench-lambda/lambda.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = REPO_ROOT / "var" / "bench-lambda"
PACKAGE = REPO_ROOT / "build" / "lambda" / "python3.12-arm64.zip"
SECRET = secrets.token_urlsafe(48)  # a fresh signing key per run, shared with the probes
WARM_INVOCATIONS = 2000
LOGINS = 5


def event(method: str, path: str, body: dict[str, Any] | None = None, token: str = "") -> dict:
    headers = {"host": "bench.local"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    made: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "bench",
            "apiId": "bench",
            "domainName": "bench.local",
            "domainPrefix": "bench",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.5",
                "userAgent": "bench",
            },
            "requestId": "bench",
            "routeKey": "$default",
            "stage": "$default",
            "time": "02/Dec/2026:00:00:00 +0000",
            "timeEpoch": 0,
        },
        "isBase64Encoded": body is not None,
    }
    if body is not None:
        headers["content-type"] = "application/json"
        made["body"] = base64.b64encode(json.dumps(body).encode()).decode()
    return made


def answer_json(answer: dict[str, Any]) -> Any:
    body = answer["body"]
    return json.loads(base64.b64decode(body) if answer["isBase64Encoded"] else body)


# --- the probe: one function in a fresh interpreter --------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux carries that
    over exec from the parent that forked us, so it would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def probe(function: str, fixtures: dict[str, Any]) -> dict[str, Any]:
    started, started_cpu = time.perf_counter(), time.process_time()
    import cloudmall.serverless.function

    imported = time.perf_counter()
    import cloudmall.serverless

    handler = cloudmall.serverless.handler  # init: settings, shop, engine, first connections
    initialised = time.perf_counter()
    rss_after_init = peak_rss_mb()
    warm_event = {
        "catalogue": event("GET", f"/api/products/{fixtures['product']}"),
        "accounts": event("GET", "/api/auth/me", token=fixtures["token"]),
        "orders": event("GET", f"/api/orders/{fixtures['order']}", token=fixtures["token"]),
    }[function]
    first = handler(warm_event, None)
    answered, answered_cpu = time.perf_counter(), time.process_time()
    assert first["statusCode"] == 200, first
    timings = []
    for _ in range(WARM_INVOCATIONS):
        t0 = time.perf_counter()
        handler(warm_event, None)
        timings.append((time.perf_counter() - t0) * 1000)
    logins = []
    if function == "accounts":
        login = event("POST", "/api/auth/login", body=fixtures["login"])
        for _ in range(LOGINS):
            t0 = time.perf_counter()
            assert handler(login, None)["statusCode"] == 200
            logins.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    return {
        "function": function,
        "import_ms": (imported - started) * 1000,
        "init_ms": (initialised - imported) * 1000,
        "first_answer_ms": (answered - initialised) * 1000,
        "cold_total_ms": (answered - started) * 1000,
        # CPU time of the same span: what a loaded machine does not inflate (wall time waits for
        # the other jobs' turns on the cores).
        "cold_cpu_ms": (answered_cpu - started_cpu) * 1000,
        "warm_p50_ms": statistics.median(timings),
        "warm_p99_ms": timings[int(len(timings) * 0.99) - 1],
        "login_median_ms": statistics.median(logins) if logins else None,
        "rss_after_init_mb": rss_after_init,
        "peak_rss_mb": peak_rss_mb(),
    }


# --- the run ----------------------------------------------------------------------------------


def settings_env(database_url: str, var_dir: Path, function: str) -> dict[str, str]:
    return {
        **os.environ,
        "CLOUDMALL_ENVIRONMENT": "test",
        "CLOUDMALL_RUNTIME": "function",
        "CLOUDMALL_FUNCTION": function,
        "CLOUDMALL_DATABASE_URL": database_url,
        "CLOUDMALL_VAR_DIR": str(var_dir),
        "CLOUDMALL_SECRET_KEY": SECRET,
        "PYTHONDONTWRITEBYTECODE": "0",
    }


def prepare(database_url: str, var_dir: Path) -> dict[str, Any]:
    """A migrated shop with a product, a customer and an order, made through the handler."""
    os.environ.update(settings_env(database_url, var_dir, "all"))
    from cloudmall.bootstrap import migrate
    from cloudmall.config import Settings
    from cloudmall.serverless.function import Function
    from cloudmall.services.commands import CreateProduct

    asyncio.run(migrate(Settings()))
    shop = Function(Settings())
    loop = asyncio.get_event_loop()
    product = loop.run_until_complete(
        shop.shop.handle(CreateProduct(name="컵", price="1000.00", stock_quantity=1000))
    )
    login = {"email": f"bench{time.time_ns()}@example.com", "password": "a long enough phrase"}
    signed = shop(
        event(
            "POST",
            "/api/auth/signup",
            body={**login, "name": "Kim", "consent": {"privacy": True, "terms": True}},
        ),
        None,
    )
    token = answer_json(signed)["access_token"]
    order = shop(
        event(
            "POST",
            "/api/orders",
            body={"items": [{"productId": product.id, "quantity": 1}]},
            token=token,
        ),
        None,
    )
    loop.run_until_complete(shop.shop.aclose())
    return {
        "product": product.id,
        "order": answer_json(order)["orderId"],
        "token": token,
        "login": login,
    }


def import_profile(env: dict[str, str], top: int = 8) -> list[tuple[str, float]]:
    """The top-level packages whose import takes longest (cumulative ms), from -X importtime."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import cloudmall.serverless.function"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    totals: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        if not cumulative.isdigit() or name.startswith(" "):
            continue
        if name == name.lstrip() and "." not in name:  # a top-level package, as first imported
            totals[name] = max(totals.get(name, 0.0), int(cumulative) / 1000)
    return sorted(totals.items(), key=lambda item: -item[1])[:top]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: SQLite in a scratch folder")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--fixtures", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe, json.loads(args.fixtures))))
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        var_dir = Path(scratch)
        url = args.database_url or f"sqlite:///{var_dir / 'shop.db'}"
        fixtures = prepare(url, var_dir)
        results = []
        for function in ("accounts", "catalogue", "orders"):
            run = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.lambda_bench",
                    "--probe",
                    function,
                    "--fixtures",
                    json.dumps(fixtures),
                ],
                env=settings_env(url, var_dir, function),
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            results.append(json.loads(run.stdout.strip().splitlines()[-1]))
        imports = import_profile(settings_env(url, var_dir, "catalogue"))
    report = render(results, imports, url.split(":", 1)[0])
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "lambda.md").write_text(report)
    print(report)
    return 0


def render(results: list[dict[str, Any]], imports: list[tuple[str, float]], backend: str) -> str:
    lines = [
        f"Database: {backend}; Python {sys.version.split()[0]}; "
        f"{WARM_INVOCATIONS} warm invocations per function, in-process (no HTTP).",
        "",
        "| function | import ms | init ms | first answer ms | cold total ms | cold CPU ms "
        "| warm p50 ms | warm p99 ms | log-in ms | RSS after init MB | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        login = f"{r['login_median_ms']:.0f}" if r["login_median_ms"] is not None else "-"
        lines.append(
            f"| {r['function']} | {r['import_ms']:.0f} | {r['init_ms']:.0f} "
            f"| {r['first_answer_ms']:.1f} | {r['cold_total_ms']:.0f} | {r['cold_cpu_ms']:.0f} "
            f"| {r['warm_p50_ms']:.2f} "
            f"| {r['warm_p99_ms']:.2f} | {login} | {r['rss_after_init_mb']:.0f} "
            f"| {r['peak_rss_mb']:.0f} |"
        )
    lines += ["", "Slowest imports (cumulative ms, `python -X importtime`):", ""]
    lines += [f"- {name}: {ms:.0f} ms" for name, ms in imports]
    if PACKAGE.exists():
        lines += ["", f"Package: {PACKAGE.name}, {PACKAGE.stat().st_size / 1e6:.1f} MB zipped."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
