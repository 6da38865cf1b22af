"""API Gateway's HTTP API: each route of the route data to its function, throttled, logged."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cloudmall.serverless.routes import FUNCTIONS, api_gateway_path
from cloudmall_infra.nag import acknowledge

#: The whole API's steady rate and burst (requests per second), before any function runs.
RATE_LIMIT = 500
BURST_LIMIT = 1000
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"time":"$context.requestTime","method":"$context.httpMethod","path":"$context.path",'
    '"routeKey":"$context.routeKey","status":"$context.status",'
    '"latencyMs":"$context.responseLatency","integrationError":"$context.integrationErrorMessage"}'
)


class ShopApi(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, functions: dict[str, lambda_.IFunction]
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigw.HttpApi(self, "Api", description="cloudmall API (three Lambda functions)")
        for name, routes in FUNCTIONS.items():
            integration = integrations.HttpLambdaIntegration(f"{name}-integration", functions[name])
            for method, template in sorted(routes):
                self.api.add_routes(
                    path=api_gateway_path(template),
                    methods=[apigw.HttpMethod(method)],
                    integration=integration,
                )
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        stage = self.api.default_stage
        assert stage is not None
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        cfn_stage.default_route_settings = apigw.CfnStage.RouteSettingsProperty(
            throttling_rate_limit=RATE_LIMIT, throttling_burst_limit=BURST_LIMIT
        )
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=self.access_logs.log_group_arn, format=ACCESS_LOG_FORMAT
        )
        for route in self.api.node.find_all():
            if isinstance(route, apigw.HttpRoute):
                acknowledge(
                    route,
                    "AwsSolutions-APIG4",
                    "The shop authorizes each request itself (a bearer token it issued, checked "
                    "against the account's token version on every call); its public routes "
                    "(catalogue, sign-up, log-in) need none. API Gateway's JWT authorizer needs "
                    "a JWKS issuer, which the shop's HS512 tokens are not.",
                )

    @property
    def domain(self) -> str:
        """The API's host name, for CloudFront's origin."""
        return f"{self.api.api_id}.execute-api.{self.api.stack.region}.amazonaws.com"
