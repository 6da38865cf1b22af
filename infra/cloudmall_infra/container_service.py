"""The guide's fast-development pattern on ECS Fargate: WAF → ALB → a Fargate service.

Each task runs the image's migrations first (a non-essential `migrate` container the app
container waits for with condition SUCCESS), so a new task set takes traffic only on the schema
it was built for; the migration lock serializes the tasks of one deployment and later ones find
nothing to do. A deployment that fails its health checks rolls back by itself (circuit breaker).
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cloudmall_infra.fargate_task import ShopTask, with_ca_bundle
from cloudmall_infra.image import APP_PORT, CONTAINER_NAME, AppImage
from cloudmall_infra.nag import acknowledge
from cloudmall_infra.web_tier import WebFirewall

MIGRATE_CONTAINER = "migrate"
# The migrate container fetches the RDS CA bundle: the app container, which starts only after it
# succeeded, finds it in the task's shared config volume.
MIGRATE_COMMAND = with_ca_bundle("cloudmall migrate")
LIVENESS_PATH = "/livez"
STOP_TIMEOUT = Duration.seconds(30)  # the server drains for 20 s on SIGTERM
HEALTH_COMMAND = (
    "import os, urllib.request; "
    "urllib.request.urlopen('http://127.0.0.1:%s/livez' % os.environ['CLOUDMALL_PORT'], timeout=4)"
)


class FargateShop(Construct):
    """ALB (HTTPS, HTTP redirected, WAF) in the public subnets, Fargate tasks in the app subnets.

    The guide's numbers: min 2, max 10 tasks in two zones, scaling on CPU with a 70 % target.
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
        name: str,
        image: AppImage,
        environment: dict[str, str],
        secrets: dict[str, ecs.Secret],
        min_capacity: int = 2,
        max_capacity: int = 10,
        cpu_target_percent: int = 70,
        cpu: int = 1024,
        memory_mib: int = 2048,
        workers: int = 2,
    ) -> None:
        super().__init__(scope, construct_id)
        self.name = name  # the cluster's and the task family's name (the pipeline's IAM names it)
        self.min_capacity = min_capacity
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            cluster_name=name,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
        )
        task = ShopTask(
            self,
            family=name,
            image=image,
            cpu=cpu,
            memory_mib=memory_mib,
            environment_reason=(
                "The plain settings (URLs without credentials, environment name, worker count) "
                "are environment variables on purpose: they are not secret and change with the "
                "template. Every credential is an ECS secret from Secrets Manager."
            ),
        )
        self.task_definition = task.definition
        self.migrate = task.add_container(
            MIGRATE_CONTAINER,
            environment=environment,
            secrets=secrets,
            essential=False,
            command=MIGRATE_COMMAND,
            stop_timeout=STOP_TIMEOUT,
        )
        self.app = task.add_container(
            CONTAINER_NAME,
            environment={**environment, "CLOUDMALL_WORKERS": str(workers)},
            secrets=secrets,
            health_check=ecs.HealthCheck(
                command=["CMD", "python", "-c", HEALTH_COMMAND],
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(60),
            ),
            stop_timeout=STOP_TIMEOUT,
        )
        self.app.add_port_mappings(ecs.PortMapping(container_port=APP_PORT))
        self.app.add_container_dependencies(
            ecs.ContainerDependency(
                container=self.migrate, condition=ecs.ContainerDependencyCondition.SUCCESS
            )
        )

        self.alb_security_group = ec2.SecurityGroup(
            self,
            "AlbSecurityGroup",
            vpc=vpc,
            description="cloudmall ALB (ECS): HTTPS and HTTP (redirect) from the internet",
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
        self.task_security_group = ec2.SecurityGroup(
            self,
            "TaskSecurityGroup",
            vpc=vpc,
            description="cloudmall Fargate tasks: the app port from the ALB only",
            allow_all_outbound=True,
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.task_definition,
            vpc_subnets=app_subnets,
            security_groups=[self.task_security_group],
            assign_public_ip=False,
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            health_check_grace_period=Duration.seconds(120),
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
        )
        scaling = self.service.auto_scale_task_count(
            min_capacity=min_capacity, max_capacity=max_capacity
        )
        scaling.scale_on_cpu_utilization(
            "CpuTarget",
            target_utilization_percent=cpu_target_percent,
            scale_in_cooldown=Duration.minutes(5),
            scale_out_cooldown=Duration.minutes(1),
        )

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            vpc_subnets=public_subnets,
            internet_facing=True,
            security_group=self.alb_security_group,
            drop_invalid_header_fields=True,
            idle_timeout=Duration.seconds(60),
        )
        self.load_balancer.log_access_logs(access_logs, prefix="ecs-alb")
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "TargetGroup",
            vpc=vpc,
            port=APP_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            targets=[self.service.load_balancer_target(container_name=CONTAINER_NAME)],
            deregistration_delay=Duration.seconds(30),
            health_check=elbv2.HealthCheck(
                # liveness: a database failover must not get every task replaced
                path=LIVENESS_PATH,
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        self.load_balancer.add_listener(
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
        self.load_balancer.add_redirect(
            source_port=80,
            source_protocol=elbv2.ApplicationProtocol.HTTP,
            target_port=443,
            target_protocol=elbv2.ApplicationProtocol.HTTPS,
            open=False,
        )
        self.task_security_group.add_ingress_rule(
            self.alb_security_group, ec2.Port.tcp(APP_PORT), "cloudmall serve from the ALB"
        )
        self.alb_security_group.add_egress_rule(
            self.task_security_group, ec2.Port.tcp(APP_PORT), "to the Fargate tasks"
        )
        self.firewall = WebFirewall(self, "Firewall")
        self.firewall.associate("AlbAssociation", self.load_balancer.load_balancer_arn)

    @property
    def url(self) -> str:
        return f"https://{self.load_balancer.load_balancer_dns_name}"

    def metric_cpu(self) -> cloudwatch.Metric:
        return self.service.metric_cpu_utilization(period=Duration.minutes(5))

    def metric_memory(self) -> cloudwatch.Metric:
        return self.service.metric_memory_utilization(period=Duration.minutes(5))

    def metric_running_tasks(self) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name="RunningTaskCount",
            dimensions_map={
                "ClusterName": self.cluster.cluster_name,
                "ServiceName": self.service.service_name,
            },
            statistic="Minimum",
            period=Duration.minutes(1),
        )

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
            label="5xx (ALB + tasks)",
            period=Duration.minutes(5),
        )

    def metric_unhealthy_targets(self) -> cloudwatch.Metric:
        return self.target_group.metrics.unhealthy_host_count(period=Duration.minutes(1))
