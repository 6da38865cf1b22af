"""Alarms for the serverless shop, to the SNS topic: each function's errors, throttles and p99
duration, the API's 5xx, and the connections RDS Proxy holds."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from cloudmall_infra.serverless_database import ProxiedDatabase
from cloudmall_infra.serverless_table import ShopTable

PERIOD = Duration.minutes(5)
P99_OF_TIMEOUT = 0.8  # alarm when the slowest 1% take 80% of the timeout
PROXY_CONNECTIONS = 80  # of the instance's max_connections (db.t3.small: ~150) x 90%


class ServerlessAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: dict[str, lambda_.Function],
        database: ProxiedDatabase | ShopTable,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms: list[cloudwatch.Alarm] = []
        for name, function in functions.items():
            timeout_ms = function.timeout.to_milliseconds() if function.timeout else 3000
            self._alarm(
                f"{name}-errors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                threshold=5,
                description=f"{name}: invocations that failed (unhandled errors, timeouts)",
            )
            self._alarm(
                f"{name}-throttles",
                function.metric_throttles(period=PERIOD, statistic="Sum"),
                threshold=1,
                description=f"{name}: invocations refused for lack of concurrency",
            )
            self._alarm(
                f"{name}-duration-p99",
                function.metric_duration(period=PERIOD, statistic="p99"),
                threshold=timeout_ms * P99_OF_TIMEOUT,
                description=f"{name}: p99 duration near the timeout",
            )
        if isinstance(database, ProxiedDatabase):
            self._alarm(
                "proxy-connections",
                database.metric_proxy_connections(),
                threshold=PROXY_CONNECTIONS,
                description="RDS Proxy: database connections near the ceiling (clients will wait)",
            )
        else:
            self._alarm(
                "table-throttles",
                database.metric_throttles(),
                threshold=1,
                description="DynamoDB: requests throttled (a burst beyond on-demand's headroom)",
            )
        for alarm in self.alarms:
            alarm.add_alarm_action(actions.SnsAction(topic))

    def _alarm(
        self, name: str, metric: cloudwatch.IMetric, *, threshold: float, description: str
    ) -> None:
        self.alarms.append(
            cloudwatch.Alarm(
                self,
                name,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
        )
