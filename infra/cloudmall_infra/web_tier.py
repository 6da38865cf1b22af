"""The web tier: WAF → ALB (HTTPS, HTTP redirected) → Auto Scaling group of app instances."""

from __future__ import annotations

from aws_cdk import Annotations, Duration
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from cloudmall_infra.nag import acknowledge

APP_PORT = 8000
HEALTH_CHECK_PATH = "/readyz"
#: Paths only operators use: the ALB answers them 404 itself, the app never sees them.
PRIVATE_PATHS = ("/metrics", "/metrics/*")
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
        self, scope: Construct, construct_id: str, *, rate_limit_per_5_minutes: int = 2000
    ) -> None:
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
                        aggregate_key_type="IP",
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
    """ALB in the public subnets, the app's Auto Scaling group in the private-app subnets.

    The guide's numbers: min 2, max 10, desired 3; scale on CPU with a 70 % target.
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
        min_capacity: int = 2,
        max_capacity: int = 10,
        desired_capacity: int = 3,
        cpu_target_percent: int = 70,
    ) -> None:
        super().__init__(scope, construct_id)
        self.alb_security_group = ec2.SecurityGroup(
            self,
            "AlbSecurityGroup",
            vpc=vpc,
            description="cloudmall ALB: HTTPS and HTTP (redirect) from the internet",
            allow_all_outbound=False,
        )
        for port, what in ((443, "HTTPS"), (80, "HTTP, redirected to HTTPS")):
            self.alb_security_group.add_ingress_rule(
                ec2.Peer.any_ipv4(), ec2.Port.tcp(port), f"{what} from the internet"
            )
        acknowledge(
            self.alb_security_group,
            "AwsSolutions-EC23",
            "The internet-facing load balancer is the shop's public entrance: it must accept "
            "80/443 from anywhere. WAF (managed rules + rate limit) filters in front of it and "
            "port 80 only answers with a redirect to HTTPS.",
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
            desired_capacity=desired_capacity,
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
        )
        user_data.add_signal_on_exit_command(self.auto_scaling_group)
        Annotations.of(self.auto_scaling_group).acknowledge_warning(
            "@aws-cdk/aws-autoscaling:desiredCapacitySet",
            "The guide's desired capacity of 3 is part of the design; each deployment resetting "
            "it to 3 is documented in docs/deploy-aws.md and target tracking rescales from there.",
        )
        self.auto_scaling_group.scale_on_cpu_utilization(
            "CpuTarget",
            target_utilization_percent=cpu_target_percent,
            cooldown=Duration.minutes(5),
        )

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            vpc_subnets=public_subnets,
            internet_facing=True,
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
                timeout=Duration.seconds(5),
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
            default_target_groups=[self.target_group],
            open=False,
        )
        # The app's operations-only paths are answered by the ALB itself, never forwarded: the
        # app also refuses /metrics outside CLOUDMALL_METRICS_ALLOW, and this keeps it so even
        # if that setting were widened to the VPC, where the ALB's own nodes live.
        elbv2.ApplicationListenerRule(
            self,
            "PrivatePaths",
            listener=self.https_listener,
            priority=1,
            conditions=[elbv2.ListenerCondition.path_patterns(list(PRIVATE_PATHS))],
            action=elbv2.ListenerAction.fixed_response(
                404,
                content_type="application/json",
                message_body='{"error":{"code":"not_found","message":"Not Found"}}',
            ),
        )
        self.http_listener = self.load_balancer.add_redirect(
            source_port=80,
            source_protocol=elbv2.ApplicationProtocol.HTTP,
            target_port=443,
            target_protocol=elbv2.ApplicationProtocol.HTTPS,
            open=False,
        )

        self.firewall = WebFirewall(self, "Firewall")
        self.firewall.associate("AlbAssociation", self.load_balancer.load_balancer_arn)

        acknowledge(
            self.auto_scaling_group,
            "AwsSolutions-AS3",
            "Scaling activity is recorded in the group's activity history and its GroupMetrics; "
            "operators are paged by the CPU, 5xx and health alarms instead, so the alarm "
            "mailbox is not flooded by routine scale-out/scale-in of an elastic shop.",
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
