"""The guide's CloudWatch dashboard and alarms, sent to an encrypted SNS topic."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from cloudmall_infra.cache import Cache
from cloudmall_infra.data import Database
from cloudmall_infra.web_tier import WebTier

# the guide's targets: CPU ≤ 70 % (scaling target), alarm at 80 %; memory ≤ 80 %, alarm at 90 %;
# cache hit rate ≥ 90 %
CPU_ALARM_PERCENT = 80
MEMORY_ALARM_PERCENT = 90
CACHE_HIT_ALARM_PERCENT = 90
DB_CPU_ALARM_PERCENT = 80
DB_FREE_STORAGE_ALARM_BYTES = 2 * 1024**3
ALB_5XX_ALARM_COUNT = 10
SLOW_QUERY_ALARM_COUNT = 10  # statements over long_query_time (1 s) in 5 minutes


class AlarmTopic(Construct):
    """An SNS topic encrypted with its own KMS key that CloudWatch alarms may publish to."""

    def __init__(self, scope: Construct, construct_id: str, *, email: str | None) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="cloudmall alarm topic encryption",
            enable_key_rotation=True,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
            )
        )
        # Auto Scaling publishes launch/terminate errors as its service-linked role, which needs
        # the key too (an encrypted topic drops what its publisher cannot encrypt). By condition,
        # not as a principal: KMS refuses a principal that does not exist yet, and that role is
        # created with the account's first Auto Scaling group (this stack's, in a new account).
        stack = Stack.of(self)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAutoScalingNotifications",
                principals=[iam.AnyPrincipal()],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={
                    "StringEquals": {
                        "kms:CallerAccount": stack.account,
                        "aws:PrincipalArn": stack.format_arn(
                            service="iam",
                            region="",
                            resource="role",
                            resource_name="aws-service-role/autoscaling.amazonaws.com/"
                            "AWSServiceRoleForAutoScaling",
                        ),
                    }
                },
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="cloudmall alarms",
            master_key=self.key,
            enforce_ssl=True,
        )
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))


class Monitoring(Construct):
    """Dashboard panels: EC2 CPU, memory, RDS connections and latency, cache hit rate, ALB
    requests / 5xx / p99 latency. Alarms: ASG CPU, memory, ALB 5xx, unhealthy targets, RDS CPU,
    slow queries, RDS free storage, cache hit rate (a math expression). Every alarm notifies the
    topic.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        web: WebTier,
        database: Database,
        cache: Cache,
        topic: sns.ITopic,
        dashboard_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = topic
        self.alarms: list[cloudwatch.Alarm] = []
        cache_hit_rate = cache.metric_hit_rate()

        self._alarm(
            "AsgCpuHigh",
            web.metric_cpu(),
            threshold=CPU_ALARM_PERCENT,
            description=f"App instances' average CPU above {CPU_ALARM_PERCENT} % for 15 min",
            evaluation_periods=3,
        )
        self._alarm(
            "AsgMemoryHigh",
            web.metric_memory(),
            threshold=MEMORY_ALARM_PERCENT,
            description=f"App instances' memory above {MEMORY_ALARM_PERCENT} % for 15 min",
            evaluation_periods=3,
        )
        self._alarm(
            "Alb5xx",
            web.metric_5xx(),
            threshold=ALB_5XX_ALARM_COUNT,
            description=f"More than {ALB_5XX_ALARM_COUNT} 5xx answers in 5 minutes",
            evaluation_periods=1,
        )
        self._alarm(
            "UnhealthyTargets",
            web.metric_unhealthy_hosts(),
            threshold=0,
            description="A target failed /livez (its process is not answering) for 5 minutes",
            evaluation_periods=5,
            statistic_op=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        self._alarm(
            "DbCpuHigh",
            database.metric_cpu(),
            threshold=DB_CPU_ALARM_PERCENT,
            description=f"Database CPU above {DB_CPU_ALARM_PERCENT} % for 15 min",
            evaluation_periods=3,
        )
        self._alarm(
            "DbSlowQueries",
            database.metric_slow_queries(),
            threshold=SLOW_QUERY_ALARM_COUNT,
            description=(
                f"More than {SLOW_QUERY_ALARM_COUNT} queries slower than 1 s in 5 minutes "
                "(the DBA alarm; see the exported slow query log)"
            ),
            evaluation_periods=1,
        )
        self._alarm(
            "DbFreeStorageLow",
            database.metric_free_storage(),
            threshold=DB_FREE_STORAGE_ALARM_BYTES,
            description="Database free storage below 2 GiB",
            evaluation_periods=1,
            statistic_op=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        )
        self._alarm(
            "CacheHitRateLow",
            cache_hit_rate,
            threshold=CACHE_HIT_ALARM_PERCENT,
            description=f"Cache hit rate below {CACHE_HIT_ALARM_PERCENT} % for 15 min",
            evaluation_periods=3,
            statistic_op=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        )

        def line(title: str, metrics: list[cloudwatch.IMetric], **kwargs: object):
            return cloudwatch.GraphWidget(title=title, left=metrics, width=8, height=6, **kwargs)

        def target(value: float, label: str) -> cloudwatch.HorizontalAnnotation:
            return cloudwatch.HorizontalAnnotation(value=value, label=label)

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=Duration.hours(3),
        )
        self.dashboard.add_widgets(
            line(
                "EC2 CPU (%) — target ≤ 70",
                [web.metric_cpu()],
                left_annotations=[target(70, "scaling target"), target(80, "alarm")],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
            ),
            line(
                "Memory (%) — target ≤ 80",
                [web.metric_memory()],
                left_annotations=[target(80, "target"), target(90, "alarm")],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
            ),
            line(
                "Cache hit rate (%) — target ≥ 90",
                [cache_hit_rate],
                left_annotations=[target(90, "target")],
                left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
            ),
        )
        self.dashboard.add_widgets(
            line("RDS connections", [database.metric_connections()]),
            line(
                "RDS latency (s)", [database.metric_read_latency(), database.metric_write_latency()]
            ),
            line("RDS CPU (%)", [database.metric_cpu()]),
        )
        self.dashboard.add_widgets(
            line("ALB requests", [web.metric_requests()]),
            line("ALB 5xx", [web.metric_5xx()]),
            line("ALB p99 latency (s)", [web.metric_p99_latency()]),
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(self.alarms), width=24, height=4
            )
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        description: str,
        evaluation_periods: int,
        statistic_op: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        ),
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=statistic_op,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"cloudmall: {description}",
        )
        action = cw_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms.append(alarm)
        return alarm
