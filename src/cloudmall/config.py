"""Typed settings: every tier is a URL, read from CLOUDMALL_* environment variables."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from cloudmall.adapters.security.signing_keys import generate_private_pem
from cloudmall.domain.orders import MAX_LINE_QUANTITY, MAX_LINES

#: The outbox's readers this code has (each finishes its own batches): a name not among them
#: would never finish any, and hold every event in the outbox for good.
OUTBOX_CONSUMERS = ("lake", "mail", "broker", "stock", "orders", "access")

#: Token signing keys (HS256): at least the hash's block size, as RFC 2104 and PyJWT recommend.
MIN_SECRET_KEY_BYTES = 64


LOOPBACK: tuple[IPv4Network | IPv6Network, ...] = (
    IPv4Network("127.0.0.0/8"),
    IPv6Network("::1/128"),
)


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Runtime(StrEnum):
    """How the shop runs (bootstrap chooses the adapters for it): a long-lived server process,
    a function (one request at a time, frozen between requests), or one service of several."""

    SERVER = "server"
    FUNCTION = "function"
    SERVICE = "service"


class ServiceName(StrEnum):
    """One context of the services topology (docs/microservices.md): its own process and
    database, its routes (web.service_routes), its peers called over HTTP (SERVICE_PEERS)."""

    USERS = "users"
    PRODUCTS = "products"
    ORDERS = "orders"
    PAYMENTS = "payments"


#: The services each one calls (the ports between contexts), by the setting naming its URL.
SERVICE_PEERS: dict[ServiceName, tuple[ServiceName, ...]] = {
    ServiceName.USERS: (),
    ServiceName.PRODUCTS: (),
    ServiceName.ORDERS: (ServiceName.USERS, ServiceName.PRODUCTS, ServiceName.PAYMENTS),
    ServiceName.PAYMENTS: (ServiceName.ORDERS,),
}

#: The shared secret of internal calls: long enough that guessing it is hopeless.
MIN_INTERNAL_SECRET_BYTES = 32


class TokenAlgorithm(StrEnum):
    """How access tokens are signed (docs/security.md, Access tokens)."""

    EDDSA = "EdDSA"  # an Ed25519 key pair: only the holder of the private key mints
    HS256 = "HS256"  # CLOUDMALL_SECRET_KEY: whoever verifies can mint too


class HttpServer(StrEnum):
    """The HTTP server in each worker of `cloudmall serve` (docs/benchmarks.md compares them)."""

    UVICORN = "uvicorn"
    GRANIAN = "granian"


class TracingMode(StrEnum):
    """Where OpenTelemetry spans go (docs/observability.md): nowhere (nothing of OpenTelemetry is
    loaded), to standard output, or over OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`."""

    OFF = "off"
    CONSOLE = "console"
    OTLP = "otlp"


class Settings(BaseSettings):
    """All of cloudmall's settings; the defaults run the whole shop on one machine under ./var."""

    model_config = SettingsConfigDict(
        env_prefix="CLOUDMALL_", env_file=None, extra="ignore", populate_by_name=True
    )

    environment: Environment = Environment.DEVELOPMENT
    runtime: Runtime = Runtime.SERVER
    server: HttpServer = HttpServer.UVICORN
    # Under the function runtime: which Lambda function this is (its routes: serverless.routes).
    function: Literal["all", "accounts", "catalogue", "orders"] = "all"
    # The services topology (docs/microservices.md): this process is one context's service,
    # answering that context's routes only. Unset: the monolith, every route in one process.
    service: ServiceName | None = None
    # Where the other services answer (http://host:port, no path): each is required in the
    # services that call it (SERVICE_PEERS), unused elsewhere.
    users_url: str = ""
    products_url: str = ""
    orders_url: str = ""
    payments_url: str = ""
    # What internal calls between services carry in X-Cloudmall-Internal: the same in every
    # service of one shop; required in production for a service.
    internal_secret: SecretStr = SecretStr("")
    var_dir: Path = Path("var")
    tracing: TracingMode = TracingMode.OFF
    # The share of new traces recorded; a request that arrives in a sampled trace is recorded
    # whatever the ratio (ParentBased), so a caller's trace is never cut in half.
    tracing_sample_ratio: float = Field(default=1.0, ge=0, le=1)
    # OpenTelemetry's own variable: each service of a split shop names itself.
    service_name: str = Field(default="cloudmall", validation_alias="OTEL_SERVICE_NAME")
    database_url: str = ""
    # Log in to the database with an IAM token made per new connection (RDS Proxy, RDS), not a
    # password: the URL names the user, the token is its password for 15 minutes.
    database_iam_auth: bool = False
    cache_url: str = "memory://"
    storage_url: str = ""
    # The data lake (docs/lake.md): where exported events go, file:// or s3://, default var/lake.
    lake_url: str = ""
    lake_batch_size: int = Field(default=20_000, ge=1, le=100_000)
    # The outbox's readers: an event every one of them has finished is deleted from the outbox.
    # `mail` is read by each server process itself (and `cloudmall mail send`), `lake` by
    # `cloudmall lake export`, `broker` (opt-in, with `broker_url`) by each server process and
    # `cloudmall events relay`, which publish the events to the broker; `stock` (opt-in) by each
    # server process on SQL, which releases cancelled orders' stock reservations; `orders`
    # (opt-in) by each server process on SQL, which cancels the pending orders whose reservations
    # expired; `access` (with `broker_url`, made one by itself in the users service with a
    # broker) by each server process, which publishes changed accounts to the access board.
    outbox_consumers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["lake", "mail"]
    )
    # The events broker (docs/events.md): Redis Streams, redis://host:6379/0 or rediss:// (TLS,
    # ElastiCache in transit encryption); `?prefix=` starts every stream name. A secret: the URL
    # may carry a password.
    broker_url: SecretStr = SecretStr("")
    broker_stream: str = Field(default="cloudmall:events", min_length=1, max_length=128)
    # About this many messages are kept per stream (XADD MAXLEN ~): a consumer group further
    # behind than that loses the oldest.
    broker_max_len: int = Field(default=1_000_000, ge=1_000)
    # Events the relay publishes per batch (one pipelined round trip, one outbox transaction).
    broker_batch_size: int = Field(default=500, ge=1, le=10_000)
    broker_poll_seconds: float = Field(default=1.0, gt=0)  # how often a server looks for events
    # A message a consuming service's member took and did not acknowledge (it died, or its
    # handler failed) goes to another member after this long.
    broker_visibility_seconds: float = Field(default=30.0, ge=1, le=3600)

    # Mail (docs/mail.md): through an SMTP server when set (smtp://user:password@host:587?
    # starttls=true, smtps://…; on AWS, SES's SMTP endpoint), else .eml files in `mail_dir`.
    smtp_url: SecretStr = SecretStr("")
    mail_dir: Path | None = None  # default var/mail
    mail_from: str = "cloudmall <no-reply@cloudmall.example>"
    # Events per batch: a process that dies mid-batch repeats at most this many mails.
    mail_batch_size: int = Field(default=20, ge=1, le=1_000)
    mail_poll_seconds: float = Field(default=2.0, gt=0)  # how often a server looks for mail
    mail_retry_max_seconds: float = Field(default=300.0, gt=0)  # the longest wait after failures
    # Where customers reach the storefront: the links in mails start with it.
    public_url: str = "http://127.0.0.1:8000"
    password_reset_ttl_seconds: int = Field(default=3600, ge=60, le=86_400)
    # Reset mails: refused (429) past a number per client address; past a number per account,
    # silently not sent (the answer never says whether an account exists).
    password_resets_per_client: int = Field(default=10, ge=1)
    password_resets_per_account: int = Field(default=3, ge=1)
    password_reset_window_seconds: int = Field(default=3600, ge=1)
    cdn_base_url: str = ""
    secret_key: SecretStr = SecretStr("")
    # Credentials apart from the URLs: a container platform injects each secret into its own
    # variable (ECS task secrets); when set they are put into database_url / cache_url.
    database_username: str = ""
    database_password: SecretStr = SecretStr("")
    cache_password: SecretStr = SecretStr("")
    # Comma-separated (or a JSON list); NoDecode keeps pydantic-settings from demanding JSON.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Host names the shop answers for ("shop.example.com", "*.example.com"); empty: any host.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Networks whose clients may read /metrics (default: this machine only).
    metrics_allow: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=lambda: list(LOOPBACK)
    )
    # A header a trusted front door sets to the client's address (CloudFront-Viewer-Address:
    # "ip:port"). Only where nothing else can reach the app: the CDK stack's ALB refuses requests
    # without CloudFront's secret header. Unset: the connection's (or uvicorn's forwarded) address.
    client_address_header: str | None = None
    # The value of the X-Origin-Verify header CloudFront adds to the requests it sends to a
    # function's API (on Lambda read from Secrets Manager, CLOUDMALL_ORIGIN_VERIFY_SECRET_ARN):
    # when set, an /api request without it is refused (403), so client_address_header can be
    # believed. Unset (a local run): every request is served, as it comes.
    origin_verify_secret: SecretStr = SecretStr("")

    token_ttl_seconds: int = Field(default=3600, gt=0)
    # Access tokens (docs/security.md, Access tokens): EdDSA with an Ed25519 key pair, or HS256
    # with CLOUDMALL_SECRET_KEY, kept for deployments that have not moved to a key pair yet.
    token_algorithm: TokenAlgorithm = TokenAlgorithm.EDDSA
    # The Ed25519 private key (PEM) of a process that issues tokens; without it a process only
    # verifies them (with CLOUDMALL_TOKEN_VERIFY_KEYS) and cannot mint any.
    token_signing_key: SecretStr = SecretStr("")
    # Public keys (PEM blocks one after another) accepted besides the signing key's own: the
    # previous key during a rotation, or the issuer's in a process that only verifies.
    token_verify_keys: str = ""
    # How long a log-in lasts on its device, refreshed with a rotating HttpOnly cookie: counted
    # from the log-in (each refresh keeps the session's end), ended by log-out or a new password.
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    # How long a process may reuse what it read of an account (role, token version) for the
    # requests of its tokens; its own changes apply at once, other processes' within this.
    auth_cache_seconds: float = Field(default=2.0, ge=0, le=5)
    token_issuer: str = "cloudmall"  # noqa: S105 - a name, not a secret
    token_audience: str = "cloudmall-api"  # noqa: S105 - a name, not a secret
    catalog_cache_ttl_seconds: int = Field(default=300, gt=0)
    currency: str = "KRW"
    low_stock_threshold: int = Field(default=5, ge=0)
    # How many demo products `cloudmall seed` adds, and `serve` puts into an empty shop.
    demo_products: int = Field(default=120, ge=1, le=100_000)

    # The documents customers agree to at sign-up (the storefront's #/privacy and #/terms show
    # these versions; a new text needs a new version). Consents are stored with them.
    privacy_policy_version: str = Field(default="2026-12-01", min_length=1, max_length=32)
    terms_version: str = Field(default="2026-12-01", min_length=1, max_length=32)

    # The business details every page's footer shows (전자상거래법). The defaults are examples
    # that say so: a real shop sets its own.
    business_name: str = "클라우드몰 예시 주식회사 (Example Co.)"
    business_representative: str = "홍길동 (예시)"
    business_registration_number: str = "000-00-00000"
    mail_order_registration_number: str = "제0000-서울예시-0000호"
    business_address: str = "서울특별시 예시구 예시로 00 (example address)"
    customer_service_phone: str = "02-0000-0000"
    customer_service_email: str = "help@example.com"

    image_max_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    image_max_pixels: int = Field(default=40_000_000, gt=0)
    thumbnail_size: int = Field(default=400, gt=0)

    # Rate limits (fixed windows, shared through the cache: Redis makes them shared by all
    # processes). Failed log-ins: refused (429) past a number per (account, client address) and
    # per client address; past a number per account, from any address, slowed down (a delay that
    # doubles per failure up to a cap) but never refused. Sign-ups per client address.
    login_failures_per_account_and_client: int = Field(default=10, ge=1)
    login_failures_per_client: int = Field(default=100, ge=1)
    login_failures_per_account: int = Field(default=10, ge=1)
    login_slowdown_max_seconds: float = Field(default=10.0, ge=0, le=30)
    login_window_seconds: int = Field(default=900, ge=1)
    signups_per_client: int = Field(default=20, ge=1)
    signup_window_seconds: int = Field(default=3600, ge=1)

    # At most what the API's schema states: larger bodies are refused before these apply.
    max_order_lines: int = Field(default=MAX_LINES, gt=0, le=MAX_LINES)
    max_line_quantity: int = Field(default=MAX_LINE_QUANTITY, gt=0, le=MAX_LINE_QUANTITY)
    max_order_total: Decimal = Decimal("100000000")
    # The delivery fee an order's goods under `free_delivery_from` pay (₩3,000; free from ₩50,000).
    delivery_fee: Decimal = Field(default=Decimal("3000"), ge=0)
    free_delivery_from: Decimal = Field(default=Decimal("50000"), ge=0)
    # How long a stock reservation holds a pending order's units before the products context's
    # sweeper gives them back (docs/microservices.md).
    reservation_minutes: int = Field(default=30, ge=1, le=1440)
    # How long a payment may stay on its way (`pending`, `charged`) before the payments
    # context's reconciler settles it from the gateway's record: longer than any payer takes.
    payment_grace_seconds: float = Field(default=60.0, gt=0)
    # The simulated gateway's record of its charges (another company's, outliving our
    # processes): a SQLite file every payments process of the shop shares; default
    # var/gateway-ledger.sqlite3.
    payment_ledger: Path | None = None

    @field_validator(
        "cors_origins", "allowed_hosts", "metrics_allow", "outbox_consumers", mode="before"
    )
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            stripped = value.strip()
            if stripped.startswith("["):
                return json.loads(stripped)
            return [origin.strip() for origin in stripped.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _fill_embedded_defaults(self) -> Settings:
        if self.database_password.get_secret_value():
            self.database_url = with_credentials(
                self.database_url, self.database_password.get_secret_value(), self.database_username
            )
        if self.cache_password.get_secret_value():
            self.cache_url = with_credentials(
                self.cache_url, self.cache_password.get_secret_value()
            )
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{(self.var_dir / 'cloudmall.db').as_posix()}"
        if not self.storage_url:
            self.storage_url = f"file://{(self.var_dir / 'media').resolve().as_posix()}"
        if self.mail_dir is None:
            self.mail_dir = self.var_dir / "mail"
        if not self.lake_url:
            self.lake_url = f"file://{(self.var_dir / 'lake').resolve().as_posix()}"
        if self.payment_ledger is None:
            self.payment_ledger = self.var_dir / "gateway-ledger.sqlite3"
        if (
            self.runtime is Runtime.FUNCTION
            and self.client_address_header
            and not self.origin_verify_secret.get_secret_value()
        ):
            # API Gateway is public: without CloudFront's proof, anyone could send the header.
            raise ValueError(
                "under the function runtime CLOUDMALL_CLIENT_ADDRESS_HEADER needs "
                "CLOUDMALL_ORIGIN_VERIFY_SECRET (the header CloudFront proves itself with)"
            )
        self._check_outbox_consumers()
        self._check_service()
        if not self.secret_key.get_secret_value():
            if self.environment is Environment.PRODUCTION:
                raise ValueError(
                    "CLOUDMALL_SECRET_KEY must be set in production "
                    f"(at least {MIN_SECRET_KEY_BYTES} random bytes)"
                )
            self.secret_key = SecretStr(_local_secret(self.var_dir))
        elif len(self.secret_key.get_secret_value().encode()) < MIN_SECRET_KEY_BYTES:
            raise ValueError(
                f"CLOUDMALL_SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes "
                "(e.g. `openssl rand -hex 48`)"
            )
        if self.token_algorithm is TokenAlgorithm.EDDSA and not (
            self.token_signing_key.get_secret_value() or self.token_verify_keys.strip()
        ):
            if self.environment is Environment.PRODUCTION:
                raise ValueError(
                    "CLOUDMALL_TOKEN_SIGNING_KEY must be set in production (an Ed25519 private "
                    "key in PEM: `cloudmall keys generate`), or CLOUDMALL_TOKEN_VERIFY_KEYS in a "
                    "process that only verifies tokens; CLOUDMALL_TOKEN_ALGORITHM=HS256 keeps "
                    "signing them with CLOUDMALL_SECRET_KEY"
                )
            self.token_signing_key = SecretStr(_local_signing_key(self.var_dir))
        return self

    def peer_url(self, peer: ServiceName) -> str:
        """Where the service `peer` answers (its CLOUDMALL_<PEER>_URL)."""
        url: str = getattr(self, f"{peer.value}_url")
        return url.rstrip("/")

    def _check_service(self) -> None:
        """A service names the URL of each service it calls and, in production, the internal
        secret; elsewhere a missing secret is made once and kept in var/internal-secret.key."""
        if self.service is None:
            return
        if self.runtime is Runtime.FUNCTION:
            raise ValueError("CLOUDMALL_SERVICE runs under the server or service runtime only")
        for peer in SERVICE_PEERS[self.service]:
            if not self.peer_url(peer):
                raise ValueError(
                    f"CLOUDMALL_{peer.value.upper()}_URL must be set for the {self.service} "
                    f"service (where the {peer} service answers, e.g. http://127.0.0.1:8102)"
                )
        secret = self.internal_secret.get_secret_value()
        if not secret:
            if self.environment is Environment.PRODUCTION:
                raise ValueError(
                    "CLOUDMALL_INTERNAL_SECRET must be set in production for a service "
                    f"(at least {MIN_INTERNAL_SECRET_BYTES} random bytes, the same in every one)"
                )
            self.internal_secret = SecretStr(
                _kept(
                    self.var_dir / "internal-secret.key",
                    lambda: secrets.token_urlsafe(MIN_INTERNAL_SECRET_BYTES),
                )
            )
        elif len(secret.encode()) < MIN_INTERNAL_SECRET_BYTES:
            raise ValueError(
                f"CLOUDMALL_INTERNAL_SECRET must be at least {MIN_INTERNAL_SECRET_BYTES} bytes "
                "(e.g. `openssl rand -hex 32`)"
            )
        self._keep_service_readers()
        self._check_service_broker()

    def _keep_service_readers(self) -> None:
        """A service's outbox keeps only the readers that run in it (the others' tables are
        elsewhere), or an event no reader there finishes would never leave the outbox."""
        owner = {"mail": ServiceName.USERS, "stock": ServiceName.PRODUCTS}
        owner["orders"] = ServiceName.ORDERS
        owner["access"] = ServiceName.USERS
        self.outbox_consumers = [
            name
            for name in self.outbox_consumers
            if name not in owner or owner[name] is self.service
        ]

    def _check_service_broker(self) -> None:
        """Events cross services through the broker: a service with one relays its outbox
        (`broker` is one of its outbox's readers), and the users service publishes changed
        accounts to the access board on the broker's Redis (`access`); in production one is
        required."""
        if self.broker_url.get_secret_value():
            readers = ["broker", "access"] if self.service is ServiceName.USERS else ["broker"]
            missing = [name for name in readers if name not in self.outbox_consumers]
            if missing:
                self.outbox_consumers = [*self.outbox_consumers, *missing]
                self._check_outbox_consumers()
            return
        if self.environment is Environment.PRODUCTION:
            raise ValueError(
                f"CLOUDMALL_BROKER_URL must be set in production for the {self.service} service "
                "(e.g. redis://HOST:6379/1): the saga's events between services travel through "
                "it (a cancelled order's units, an expired reservation's order)"
            )

    def _check_outbox_consumers(self) -> None:
        """Known readers only; the `broker` reader needs a broker, and the inbox its consumers
        need (SQL)."""
        unknown = [name for name in self.outbox_consumers if name not in OUTBOX_CONSUMERS]
        if unknown:
            raise ValueError(
                f"CLOUDMALL_OUTBOX_CONSUMERS: unknown reader {unknown[0]!r} "
                f"(the readers are {', '.join(OUTBOX_CONSUMERS)})"
            )
        if "access" in self.outbox_consumers and not self.broker_url.get_secret_value():
            raise ValueError(
                "CLOUDMALL_OUTBOX_CONSUMERS names `access` but CLOUDMALL_BROKER_URL is not set "
                "(the access board is on the broker's Redis, e.g. redis://127.0.0.1:6379/0)"
            )
        if "broker" not in self.outbox_consumers:
            return
        if not self.broker_url.get_secret_value():
            raise ValueError(
                "CLOUDMALL_OUTBOX_CONSUMERS names `broker` but CLOUDMALL_BROKER_URL is not set "
                "(e.g. redis://127.0.0.1:6379/0)"
            )
        if urlsplit(self.database_url).scheme == "dynamodb":
            raise ValueError(
                "the `broker` outbox reader needs a SQL database: its consumers' inbox has no "
                "DynamoDB adapter yet (docs/events.md)"
            )


def with_credentials(url: str, password: str, username: str = "") -> str:
    """``url`` with ``username:password`` (URL-encoded) in its netloc; refuses a URL with some."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError("credentials given for a URL without a host")
    if parts.username or parts.password:
        raise ValueError("credentials given twice: in the URL and in their own settings")
    netloc = f"{quote(username, safe='')}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _local_secret(var_dir: Path) -> str:
    """A per-machine signing key kept in var/secret.key, so restarts and workers share it; a key
    left by an older version that is too short is replaced (its tokens stop working)."""
    path = var_dir / "secret.key"
    if path.exists() and len(path.read_bytes().strip()) < MIN_SECRET_KEY_BYTES:
        path.unlink(missing_ok=True)
    return _kept(path, lambda: secrets.token_urlsafe(MIN_SECRET_KEY_BYTES))  # 86 characters


def _local_signing_key(var_dir: Path) -> str:
    """A per-machine Ed25519 private key (PEM) kept in var/token-signing-key.pem."""
    return _kept(var_dir / "token-signing-key.pem", generate_private_pem)


def _kept(path: Path, make: Callable[[], str]) -> str:
    """The text of `path`, first written (mode 0600) with what `make` returns."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}"
        tmp.touch(mode=0o600)
        tmp.write_text(make())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # atomic create-if-absent: concurrent workers agree on one key
        tmp.unlink()
    return path.read_text().strip()
