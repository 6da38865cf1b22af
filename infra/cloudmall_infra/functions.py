"""The guide's three Lambda functions from one package, plus the migration run once per deploy
and the scheduled functions run every minute: the mail, the stock reservations' sweeper and the
payments' reconciler.

Each function is the same artifact (`make lambda-package`) and handler; CLOUDMALL_FUNCTION picks
its routes (cloudmall.serverless.routes). Each has its own role, log group, security group.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Annotations, Duration, RemovalPolicy, triggers
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cloudmall_infra.nag import acknowledge, logical_id
from cloudmall_infra.serverless_database import ProxiedDatabase
from cloudmall_infra.serverless_table import ShopTable

#: Where a function keeps its files: Lambda's only writable folder (the package's /var/task is
#: read-only, so the default ./var, and the simulated gateway's ledger in it, fail there). /tmp
#: belongs to one execution environment, not shared with other functions or tenants.
LAMBDA_VAR_DIR = "/tmp/cloudmall"  # noqa: S108

HANDLER = "cloudmall.serverless.handler"
MIGRATE_HANDLER = "cloudmall.serverless.migrate.handler"
MAIL_HANDLER = "cloudmall.serverless.scheduled.send_mail"
MAIL_SCHEDULE = Duration.minutes(1)
MAIL_MEMORY_MB = 256  # no web app, no Argon2, no Pillow: the shop's tiers and an SMTP client
# Under the schedule's minute, so runs seldom overlap (when they do, the outbox's mail records
# send each mail once: services/mail.py).
MAIL_TIMEOUT = Duration.seconds(50)
SWEEP_HANDLER = "cloudmall.serverless.scheduled.expire_reservations"
# EventBridge's shortest rate: a server sweeps every 30 s, so a reservation is held at most a
# minute past its time here, in a 30-minute hold (CLOUDMALL_RESERVATION_MINUTES).
SWEEP_SCHEDULE = Duration.minutes(1)
SWEEP_MEMORY_MB = 256  # no web app: the shop's tiers and a batch of reservations
# Under the schedule's minute; overlapping runs are safe: each release is a conditional move,
# made once (services/stock.py).
SWEEP_TIMEOUT = Duration.seconds(50)
RECONCILE_HANDLER = "cloudmall.serverless.scheduled.reconcile_payments"
# A server reconciles every 30 s; a payment is only its after CLOUDMALL_PAYMENT_GRACE_SECONDS
# (60 s, past the orders function's 15 s timeout), so a minute more is a small delay.
RECONCILE_SCHEDULE = Duration.minutes(1)
RECONCILE_MEMORY_MB = 256  # no web app: the shop's tiers, a batch of payments, the gateway
# Under the schedule's minute; overlapping runs are safe: each step is a conditional move, so
# each payment is settled once (services/payment_reconciler.py).
RECONCILE_TIMEOUT = Duration.seconds(50)
#: The outbox's readers in this stack: mail (the mail function). The lake's exporter does not run
#: here (docs/serverless.md), so `lake` is not a consumer: events are deleted once mailed.
OUTBOX_CONSUMERS = "mail"
#: The header CloudFront adds with the viewer's "ip:port"; believed only with the origin secret.
VIEWER_ADDRESS_HEADER = "CloudFront-Viewer-Address"
TIMEOUT = Duration.seconds(15)  # under API Gateway's 30 s; the app's statements stop at 15 s


@dataclass(frozen=True)
class FunctionSpec:
    """One function's sizing: memory (CPU comes with it) and, for payments, a reserved share."""

    memory_mb: int
    reserved_concurrency: int | None
    media: str  # "none", "read" or "write": what it does with the media bucket
    reason: str


#: The memory settings and why (measured: docs/serverless.md, `make bench-lambda`).
FUNCTIONS: dict[str, FunctionSpec] = {
    "accounts": FunctionSpec(
        1024,
        None,
        "none",
        "Argon2id hashes with 64 MiB and takes a full core's time: at 128 MB the process plus "
        "the hash does not fit, and CPU (proportional to memory) would make log-in slow",
    ),
    "catalogue": FunctionSpec(
        512, None, "read", "cached JSON reads: the smallest size whose init stays under a second"
    ),
    "orders": FunctionSpec(
        1024,
        50,
        "write",
        "orders and payments (and staff uploads, which resize images with Pillow); reserved "
        "concurrency keeps payment capacity that reads cannot take, and caps proxy connections",
    ),
}


class ShopFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        database: ProxiedDatabase | ShopTable,
        media_bucket: s3.IBucket,
        media_prefix: str,
        signing_key: secretsmanager.ISecret,
        origin_verify: secretsmanager.ISecret,
        environment: str,
        snap_start: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        if not (code_dir / "cloudmall").is_dir():
            raise FileNotFoundError(
                f"{code_dir} holds no Lambda package: run `make lambda-package` first"
            )
        self.code = lambda_.Code.from_asset(str(code_dir))
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="cloudmall functions: out to the database and AWS endpoints only",
            allow_all_outbound=True,
        )
        database.allow_from(self.security_group)
        region = media_bucket.stack.region
        self.common_environment = {
            "CLOUDMALL_ENVIRONMENT": environment,
            "CLOUDMALL_RUNTIME": "function",
            "CLOUDMALL_VAR_DIR": LAMBDA_VAR_DIR,
            "CLOUDMALL_DATABASE_URL": database.url,
            # RDS Proxy: IAM tokens; a table: the function's role signs every request.
            "CLOUDMALL_DATABASE_IAM_AUTH": str(isinstance(database, ProxiedDatabase)).lower(),
            "CLOUDMALL_STORAGE_URL": (
                f"s3://{media_bucket.bucket_name}/{media_prefix}?region={region}"
            ),
            "CLOUDMALL_SECRET_KEY_SECRET_ARN": signing_key.secret_arn,
            # Access tokens signed with that key until an Ed25519 pair is deployed
            # (docs/security.md)
            "CLOUDMALL_TOKEN_ALGORITHM": "HS256",
            "POWERTOOLS_SERVICE_NAME": "cloudmall",
            # No shared cache in this stack: each container keeps its own catalogue answers,
            # so they live 30 s, not the default 300 s, after a staff edit elsewhere.
            "CLOUDMALL_CATALOG_CACHE_TTL_SECONDS": "30",
            "CLOUDMALL_OUTBOX_CONSUMERS": OUTBOX_CONSUMERS,
        }
        self._vpc, self._subnets, self._database = vpc, subnets, database
        self._signing_key = signing_key
        self.functions: dict[str, lambda_.Function] = {}
        #: What API Gateway invokes: with SnapStart, the "live" alias of the newest published
        #: version (snapshots exist only for versions); without, the function itself.
        self.entrypoints: dict[str, lambda_.IFunction] = {}
        for name, spec in FUNCTIONS.items():
            function = self._function(
                name,
                handler=HANDLER,
                memory_mb=spec.memory_mb,
                environment={
                    **self.common_environment,
                    "CLOUDMALL_FUNCTION": name,
                    # Requests without CloudFront's secret header are refused, so the viewer
                    # address CloudFront adds is the client's (sourceIp is CloudFront's edge).
                    "CLOUDMALL_ORIGIN_VERIFY_SECRET_ARN": origin_verify.secret_arn,
                    "CLOUDMALL_CLIENT_ADDRESS_HEADER": VIEWER_ADDRESS_HEADER,
                },
                vpc=vpc,
                subnets=subnets,
                reserved_concurrency=spec.reserved_concurrency,
                snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            )
            database.grant_connect(function)
            signing_key.grant_read(function)
            origin_verify.grant_read(function)
            self._grant_media(function, spec.media, media_bucket, media_prefix)
            self.functions[name] = function
            self.entrypoints[name] = function
            if snap_start:
                self.entrypoints[name] = lambda_.Alias(
                    self, f"{name}-live", alias_name="live", version=function.current_version
                )
                Annotations.of(function).acknowledge_warning(
                    "@aws-cdk/aws-lambda:snapStartRequirePublish",
                    "Each deploy publishes a version (current_version) and the API invokes it "
                    "through the live alias.",
                )
        # A table is the stack's own, indexes and all: nothing to migrate.
        self.migrate: lambda_.Function | None = None
        if isinstance(database, ProxiedDatabase):
            self.migrate = self._migration(vpc, subnets, database)
        self.functions["sweep"] = self._sweeper()
        self.functions["reconcile"] = self._reconciler()

    def _sweeper(self) -> lambda_.Function:
        """The stock reservations past their time, released by
        `cloudmall.serverless.scheduled.expire_reservations` every minute (EventBridge), as a
        server's sweeper does every 30 s."""
        function = self._scheduled(
            "sweep",
            handler=SWEEP_HANDLER,
            memory_mb=SWEEP_MEMORY_MB,
            timeout=SWEEP_TIMEOUT,
            environment=dict(self.common_environment),
            rate=SWEEP_SCHEDULE,
            description="cloudmall: release the stock reservations past their time",
        )
        return function

    def _reconciler(self) -> lambda_.Function:
        """The payments left `pending` or `charged` past their grace (a payer's function killed
        or timed out on the way), settled by `cloudmall.serverless.scheduled.reconcile_payments`
        every minute (EventBridge), as a server's reconciler does every 30 s."""
        function = self._scheduled(
            "reconcile",
            handler=RECONCILE_HANDLER,
            memory_mb=RECONCILE_MEMORY_MB,
            timeout=RECONCILE_TIMEOUT,
            environment=dict(self.common_environment),
            rate=RECONCILE_SCHEDULE,
            description="cloudmall: settle the payments left on their way",
        )
        return function

    def _scheduled(
        self,
        name: str,
        *,
        handler: str,
        memory_mb: int,
        timeout: Duration,
        environment: dict[str, str],
        rate: Duration,
        description: str,
    ) -> lambda_.Function:
        """A function an EventBridge rule invokes every `rate`, after the schema exists, with the
        database and the signing key (the app's settings refuse to start in production without
        the key, whether the function signs or not)."""
        function = self._function(
            name,
            handler=handler,
            memory_mb=memory_mb,
            environment=environment,
            vpc=self._vpc,
            subnets=self._subnets,
            timeout=timeout,
        )
        events.Rule(
            self,
            f"{name}-schedule",
            description=description,
            schedule=events.Schedule.rate(rate),
            # No retry: the next run does whatever this one could not.
            targets=[targets.LambdaFunction(function, retry_attempts=0)],
        )
        if self.migrate is not None:
            function.node.add_dependency(self.migrate)  # the schema before the first run
        self._database.grant_connect(function)
        self._signing_key.grant_read(function)
        return function

    def add_mailer(self, *, smtp_url: secretsmanager.ISecret, public_url: str) -> lambda_.Function:
        """The outbox's mail, sent by `cloudmall.serverless.scheduled.send_mail` every minute
        (EventBridge), through the SMTP server whose URL (with its log-in) is in `smtp_url`."""
        function = self._scheduled(
            "mail",
            handler=MAIL_HANDLER,
            memory_mb=MAIL_MEMORY_MB,
            timeout=MAIL_TIMEOUT,
            environment={
                **self.common_environment,
                "CLOUDMALL_SMTP_URL_SECRET_ARN": smtp_url.secret_arn,
                "CLOUDMALL_PUBLIC_URL": public_url,  # the links in the mails
            },
            rate=MAIL_SCHEDULE,
            description="cloudmall: send the outbox's mail",
        )
        smtp_url.grant_read(function)
        self.functions["mail"] = function
        return function

    @staticmethod
    def _grant_media(
        function: lambda_.Function, access: str, bucket: s3.IBucket, prefix: str
    ) -> None:
        """Objects under the media prefix only: read, or read and write (staff uploads)."""
        if access == "none":
            return
        actions = ["s3:GetObject"] if access == "read" else ["s3:GetObject", "s3:PutObject"]
        function.add_to_role_policy(
            iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(f"{prefix}/*")])
        )
        acknowledge(
            function.role,  # type: ignore[arg-type]
            f"AwsSolutions-IAM5[Resource::<{logical_id(bucket)}.Arn>/{prefix}/*]",
            "Product images are stored under content-hash keys below the media prefix: the "
            "function needs every object there, and no object elsewhere in the bucket.",
        )

    def _function(
        self,
        name: str,
        *,
        handler: str,
        memory_mb: int,
        environment: dict[str, str],
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        reserved_concurrency: int | None = None,
        timeout: Duration = TIMEOUT,
        construct: type[lambda_.Function] = lambda_.Function,
        **extra: object,
    ) -> lambda_.Function:
        log_group = logs.LogGroup(
            self,
            f"{name}-logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        role = iam.Role(
            self,
            f"{name}-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"cloudmall {name} function",
        )
        log_group.grant_write(role)
        role.add_to_policy(  # the ENIs Lambda puts in the VPC (no managed policy: see nag)
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            )
        )
        function = construct(
            self,
            name,
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            code=self.code,
            handler=handler,
            memory_size=memory_mb,
            timeout=timeout,
            environment=environment,
            vpc=vpc,
            vpc_subnets=subnets,
            security_groups=[self.security_group],
            role=role,
            log_group=log_group,
            tracing=lambda_.Tracing.ACTIVE,
            reserved_concurrent_executions=reserved_concurrency,
            description=f"cloudmall: {name}",
            **extra,
        )
        acknowledge(
            function,
            "AwsSolutions-L1",
            "The functions run Python 3.12, the runtime the deployment package is built and "
            "tested for (manylinux wheels for cp312); moving on is a package rebuild, done "
            "deliberately with the tests, not by a linter.",
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "Lambda's VPC networking (create/describe/delete the function's ENIs) and X-Ray "
            "PutTraceSegments take no resource-level permissions; AWS's own "
            "AWSLambdaVPCAccessExecutionRole grants the same on *.",
        )
        return function

    def _migration(
        self, vpc: ec2.IVpc, subnets: ec2.SubnetSelection, database: ProxiedDatabase
    ) -> triggers.TriggerFunction:
        """`cloudmall migrate` as a CloudFormation-time trigger: once per deploy whose code
        changed, after the proxy exists and before the API is created; never per invocation."""
        # The common environment, the signing key's secret included: the app's settings refuse
        # to start in production without it, even in a process that signs nothing.
        migrate = self._function(
            "migrate",
            handler=MIGRATE_HANDLER,
            memory_mb=512,
            environment=dict(self.common_environment),
            vpc=vpc,
            subnets=subnets,
            timeout=Duration.minutes(5),
            construct=triggers.TriggerFunction,
            execute_after=[database.proxy, database.instance],
            execute_on_handler_change=True,
        )
        database.grant_connect(migrate)
        self._signing_key.grant_read(migrate)
        self._acknowledge_trigger(migrate)
        return migrate  # type: ignore[return-value]

    def _acknowledge_trigger(self, migrate: lambda_.Function) -> None:
        stack = migrate.stack
        for child in stack.node.children:
            if child.node.id.startswith("AWSCDK.TriggerCustomResourceProvider"):
                acknowledge(
                    child,
                    "AwsSolutions-IAM4",
                    "CDK's trigger provider (aws-cdk-lib): it only invokes the migration "
                    "function during a deployment; its basic execution role is CDK-managed.",
                )
                acknowledge(
                    child,
                    "AwsSolutions-L1",
                    "CDK's trigger provider: its runtime is pinned by aws-cdk-lib and moves "
                    "forward with CDK upgrades; it runs only during deployments.",
                )
