"""The web tier: WAF → ALB (HTTPS, HTTP redirected) → Auto Scaling group of app instances.

The load balancer checks liveness (``/livez``: the process answers), never readiness: a database
failover must not make every instance unhealthy at once and have the group replace them all.
Readiness (``/readyz``) gates only an instance's first traffic: a launch lifecycle hook keeps a
new instance out of the target group until its boot script has seen ``/readyz`` answer 200.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from cloudmall_infra.cdn import ORIGIN_VERIFY_HEADER
from cloudmall_infra.nag import acknowledge

APP_PORT = 8000
HEALTH_CHECK_PATH = "/livez"  # the ALB's check; cloudmall.web.routers.ops answers it without I/O
READINESS_PATH = "/readyz"  # checked once by the boot script before the launch hook completes
HEALTH_CHECK_TIMEOUT_SECONDS = 5
LAUNCH_HOOK_NAME = "cloudmall-ready"
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


class WebFirewall(Construct):
    """A regional WAF v2 web ACL: AWS managed rule groups plus a per-IP rate limit."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        rate_limit_per_5_minutes: int = 2000,
        behind_cloudfront: bool = False,
    ) -> None:
        """``behind_cloudfront``: every connection comes from CloudFront, so the rate limit
        counts per client address in X-Forwarded-For (CloudFront sets it)."""
        super().__init__(scope, construct_id)
        rules: list[wafv2.CfnWebACL.RuleProperty] = []
        for priority, group in enumerate(MANAGED_RULE_GROUPS):
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=group,
                    priority=priority,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name=group
                        )
                    ),
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    visibility_config=_visibility(group),
                )
            )
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RateLimitPerIp",
                priority=len(rules),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=rate_limit_per_5_minutes,
                        aggregate_key_type="FORWARDED_IP" if behind_cloudfront else "IP",
                        forwarded_ip_config=(
                            wafv2.CfnWebACL.ForwardedIPConfigurationProperty(
                                header_name="X-Forwarded-For", fallback_behavior="MATCH"
                            )
                            if behind_cloudfront
                            else None
                        ),
                        evaluation_window_sec=300,
                    )
                ),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                visibility_config=_visibility("RateLimitPerIp"),
            )
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("cloudmall-web-acl"),
            rules=rules,
        )

    def associate(self, construct_id: str, resource_arn: str) -> wafv2.CfnWebACLAssociation:
        return wafv2.CfnWebACLAssociation(
            self, construct_id, resource_arn=resource_arn, web_acl_arn=self.web_acl.attr_arn
        )


class WebTier(Construct):
    """ALB in the public subnets (or, ``internet_facing=False``, an internal ALB in the app
    subnets for the guide's intranet pattern), the app's Auto Scaling group in the private-app
    subnets.

    The guide's numbers: min 2, max 10; scale on CPU with a 70 % target. No desired capacity in
    the template: a deployment must not reset what target tracking scaled to.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        public_subnets: ec2.SubnetSelection,
        app_subnets: ec2.SubnetSelection,
        certificate_arn: str,
        access_logs: s3.IBucket,
        instance_type: str,
        user_data: ec2.UserData,
        role: iam.IRole,
        notifications_topic: sns.ITopic,
        origin_verify: secretsmanager.ISecret | None = None,
        internet_facing: bool = True,
        ingress_cidr: str | None = None,
        min_capacity: int = 2,
        max_capacity: int = 10,
        cpu_target_percent: int = 70,
    ) -> None:
        super().__init__(scope, construct_id)
        self.internet_facing = internet_facing
        peer_cidr = ingress_cidr or ("0.0.0.0/0" if internet_facing else vpc.vpc_cidr_block)
        where = "the internet" if internet_facing else "the intranet"
        self.alb_security_group = ec2.SecurityGroup(
            self,
            "AlbSecurityGroup",
            vpc=vpc,
            description=f"cloudmall ALB: HTTPS and HTTP (redirect) from {where}",
            allow_all_outbound=False,
        )
        for port, what in ((443, "HTTPS"), (80, "HTTP, redirected to HTTPS")):
            self.alb_security_group.add_ingress_rule(
                ec2.Peer.ipv4(peer_cidr), ec2.Port.tcp(port), f"{what} from {where}"
            )
        if peer_cidr == "0.0.0.0/0":
            acknowledge(
                self.alb_security_group,
                "AwsSolutions-EC23",
                "The internet-facing load balancer is the shop's public entrance: it must accept "
                "80/443 from anywhere. WAF (managed rules + rate limit) filters in front of it, "
                "port 80 only answers with a redirect to HTTPS, and requests without "
                "CloudFront's origin-verify header are refused.",
            )
        self.app_security_group = ec2.SecurityGroup(
            self,
            "AppSecurityGroup",
            vpc=vpc,
            description="cloudmall app instances: the app port from the ALB only",
            allow_all_outbound=True,
        )
        self.app_security_group.add_ingress_rule(
            self.alb_security_group,
            ec2.Port.tcp(APP_PORT),
            "cloudmall serve from the ALB",
        )
        self.alb_security_group.add_egress_rule(
            self.app_security_group,
            ec2.Port.tcp(APP_PORT),
            "to the app instances",
        )

        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            instance_type=ec2.InstanceType(instance_type),
            machine_image=ec2.MachineImage.latest_amazon_linux2023(),
            role=role,
            security_group=self.app_security_group,
            user_data=user_data,
            require_imdsv2=True,
            http_put_response_hop_limit=1,
            detailed_monitoring=True,
            ebs_optimized=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        30,
                        encrypted=True,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        delete_on_termination=True,
                    ),
                )
            ],
        )
        self.auto_scaling_group = autoscaling.AutoScalingGroup(
            self,
            "AutoScalingGroup",
            vpc=vpc,
            vpc_subnets=app_subnets,
            launch_template=self.launch_template,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            health_checks=autoscaling.HealthChecks.with_additional_checks(
                additional_types=[autoscaling.AdditionalHealthCheckType.ELB],
                grace_period=Duration.minutes(10),
            ),
            default_instance_warmup=Duration.minutes(5),
            cooldown=Duration.minutes(5),
            group_metrics=[autoscaling.GroupMetrics.all()],
            signals=autoscaling.Signals.wait_for_min_capacity(timeout=Duration.minutes(20)),
            update_policy=autoscaling.UpdatePolicy.rolling_update(
                max_batch_size=1,
                min_instances_in_service=min_capacity,
                pause_time=Duration.minutes(20),
                wait_on_resource_signals=True,
            ),
            termination_policies=[
                autoscaling.TerminationPolicy.OLDEST_LAUNCH_TEMPLATE,
                autoscaling.TerminationPolicy.DEFAULT,
            ],
            # launch and termination failures page the operators (the guide's ASG alarm)
            notifications=[
                autoscaling.NotificationConfiguration(
                    topic=notifications_topic,
                    scaling_events=autoscaling.ScalingEvents.ERRORS,
                )
            ],
        )
        # A new instance joins the target group only when the hook completes, which the boot
        # script does after /readyz answered 200; an instance that never gets ready is abandoned.
        self.auto_scaling_group.add_lifecycle_hook(
            "Ready",
            lifecycle_hook_name=LAUNCH_HOOK_NAME,
            lifecycle_transition=autoscaling.LifecycleTransition.INSTANCE_LAUNCHING,
            default_result=autoscaling.DefaultResult.ABANDON,
            heartbeat_timeout=Duration.minutes(15),
        )
        # By name pattern, not the group's ARN: the launch template (which the group needs)
        # depends on this role's policy, so the policy cannot depend on the group.
        stack = Stack.of(self)
        own_groups = stack.format_arn(
            service="autoscaling",
            resource="autoScalingGroup",
            resource_name=f"*:autoScalingGroupName/{stack.stack_name}-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="CompleteOwnLaunchHook",
                actions=["autoscaling:CompleteLifecycleAction"],
                resources=[own_groups],
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:"
            f"{stack.region}:{stack.account}:autoScalingGroup:*:autoScalingGroupName/"
            f"{stack.stack_name}-*]",
            "CloudFormation names the group <stack>-<id>-<suffix>; the pattern is this stack's "
            "groups, and the only action is completing a lifecycle hook.",
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="DescribeAutoScaling",
                actions=[
                    "autoscaling:DescribeAutoScalingInstances",
                    "autoscaling:DescribeAutoScalingGroups",
                ],
                resources=["*"],
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "The autoscaling Describe* actions have no resource-level permissions; an instance "
            "learns its group's name (to complete its launch hook) and, for the nightly backup, "
            "whether it is the group's first InService instance.",
        )
        user_data.add_signal_on_exit_command(self.auto_scaling_group)
        self.auto_scaling_group.scale_on_cpu_utilization(
            "CpuTarget",
            target_utilization_percent=cpu_target_percent,
            cooldown=Duration.minutes(5),
        )

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            vpc_subnets=public_subnets if internet_facing else app_subnets,
            internet_facing=internet_facing,
            security_group=self.alb_security_group,
            drop_invalid_header_fields=True,
            http2_enabled=True,
            idle_timeout=Duration.seconds(60),
        )
        self.load_balancer.log_access_logs(access_logs, prefix="alb")
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "TargetGroup",
            vpc=vpc,
            port=APP_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.INSTANCE,
            targets=[self.auto_scaling_group],
            deregistration_delay=Duration.seconds(30),
            health_check=elbv2.HealthCheck(
                path=HEALTH_CHECK_PATH,
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(HEALTH_CHECK_TIMEOUT_SECONDS),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        self.https_listener = self.load_balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[
                acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)
            ],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            default_action=(
                elbv2.ListenerAction.forward([self.target_group])
                if origin_verify is None
                else elbv2.ListenerAction.fixed_response(
                    403, content_type="text/plain", message_body="use the shop's address"
                )
            ),
            open=False,
        )
        if origin_verify is not None:
            # Only CloudFront knows the header's value: the ALB's own DNS name is no way around
            # CloudFront (its caching, its TLS policy) to the instances.
            self.https_listener.add_action(
                "FromCloudFront",
                priority=1,
                conditions=[
                    elbv2.ListenerCondition.http_header(
                        ORIGIN_VERIFY_HEADER, [origin_verify.secret_value.unsafe_unwrap()]
                    )
                ],
                action=elbv2.ListenerAction.forward([self.target_group]),
            )
        self.http_listener = self.load_balancer.add_redirect(
            source_port=80,
            source_protocol=elbv2.ApplicationProtocol.HTTP,
            target_port=443,
            target_protocol=elbv2.ApplicationProtocol.HTTPS,
            open=False,
        )

        self.firewall = WebFirewall(self, "Firewall", behind_cloudfront=origin_verify is not None)
        self.firewall.associate("AlbAssociation", self.load_balancer.load_balancer_arn)

        acknowledge(
            self.auto_scaling_group,
            "AwsSolutions-AS3",
            "Launch and termination errors go to the alarm topic; routine scale-out/scale-in "
            "of an elastic shop is recorded in the activity history and GroupMetrics only, "
            "so the alarm mailbox is not flooded.",
        )

    @property
    def url(self) -> str:
        return f"https://{self.load_balancer.load_balancer_dns_name}"

    def metric_cpu(self) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/EC2",
            metric_name="CPUUtilization",
            dimensions_map={
                "AutoScalingGroupName": self.auto_scaling_group.auto_scaling_group_name
            },
            statistic="Average",
            period=Duration.minutes(5),
        )

    def metric_memory(self) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="CWAgent",
            metric_name="mem_used_percent",
            dimensions_map={
                "AutoScalingGroupName": self.auto_scaling_group.auto_scaling_group_name
            },
            statistic="Average",
            period=Duration.minutes(5),
        )

    def metric_requests(self) -> cloudwatch.Metric:
        return self.load_balancer.metrics.request_count(period=Duration.minutes(5))

    def metric_5xx(self) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression="FILL(elb, 0) + FILL(target, 0)",
            using_metrics={
                "elb": self.load_balancer.metrics.http_code_elb(
                    elbv2.HttpCodeElb.ELB_5XX_COUNT, period=Duration.minutes(5)
                ),
                "target": self.load_balancer.metrics.http_code_target(
                    elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=Duration.minutes(5)
                ),
            },
            label="5xx (ALB + targets)",
            period=Duration.minutes(5),
        )

    def metric_p99_latency(self) -> cloudwatch.Metric:
        return self.load_balancer.metrics.target_response_time(
            statistic="p99", period=Duration.minutes(5)
        )

    def metric_unhealthy_hosts(self) -> cloudwatch.Metric:
        return self.target_group.metrics.unhealthy_host_count(period=Duration.minutes(1))
