"""The guide's pattern 7 (microservices) on EKS: the cluster and what the four services use on
AWS. The services themselves are Kubernetes manifests (cloudmall_infra/k8s, deploy/k8s/).

- EKS (``aws_eks_v2``: native CloudFormation ``AWS::EKS::Cluster``, access entries instead of the
  aws-auth ConfigMap) on Kubernetes :data:`KUBERNETES_VERSION`, its API private, with a managed
  node group across two zones, the VPC CNI with network policies on, the Pod Identity agent and
  metrics-server (the autoscalers' CPU figures) as add-ons, the AWS Load Balancer Controller and
  External Secrets Operator as Helm charts (through the kubectl provider: a Lambda layer with
  kubectl and helm);
- four RDS MySQL instances (Multi-AZ), one per context, each with its own generated credentials;
- one ElastiCache Redis group: the cache (database 0) and the broker's streams (database 1);
- the ECR repository, the media bucket, the data lake, an access-log bucket, a WAF web ACL for
  the ALB the controller makes;
- the secrets the services read (External Secrets, through Pod Identity), and the Pod Identity
  roles of the operator, the product service (media) and the lake exports (lake);
- alarms to SNS.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnOutput, Duration, SecretValue, Stack, Tags
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks_v2 as eks
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.lambda_layer_kubectl_v35 import KubectlV35Layer
from constructs import Construct

from cloudmall_infra.backup import Backups
from cloudmall_infra.buckets import LogBucket, private_bucket
from cloudmall_infra.cache import Cache
from cloudmall_infra.config import DeploymentConfig
from cloudmall_infra.data import Database
from cloudmall_infra.image import ImageRepository
from cloudmall_infra.k8s.contract import (
    APP_SUBNET_CIDRS,
    EXTERNAL_SECRETS_NAMESPACE,
    EXTERNAL_SECRETS_SERVICE_ACCOUNT,
    KUBERNETES_VERSION,
    LAKE_SERVICE_ACCOUNT,
    NAMESPACE,
    SERVICES,
    SHARED_SECRETS,
    VPC_CIDR,
    database_secret,
)
from cloudmall_infra.lake import DataLake
from cloudmall_infra.monitoring import AlarmTopic
from cloudmall_infra.nag import acknowledge, logical_id
from cloudmall_infra.network import Network
from cloudmall_infra.web_tier import WebFirewall

NODE_INSTANCE_TYPE = "t3.medium"
NODES = {"min_size": 2, "desired_size": 3, "max_size": 6}
DB_INSTANCE_TYPE = "t3.micro"
EXTERNAL_SECRETS_CHART_VERSION = "0.19.2"  # serves external-secrets.io/v1
CPU_ALARM_PERCENT = 80
_MANAGED = "arn:<AWS::Partition>:iam::aws:policy/"
EKS_MANAGED_POLICIES = (
    f"{_MANAGED}AmazonEKSClusterPolicy",
    f"{_MANAGED}AmazonEKSWorkerNodePolicy",
    f"{_MANAGED}AmazonEKS_CNI_Policy",
    f"{_MANAGED}AmazonEC2ContainerRegistryReadOnly",
    f"{_MANAGED}service-role/AWSLambdaBasicExecutionRole",
    f"{_MANAGED}service-role/AWSLambdaVPCAccessExecutionRole",
    '{"Fn::If":["ClusterKubectlProviderHandlerHasEcrPublic69E09706",{"Fn::Join":["",["arn:",'
    '{"Ref":"AWS::Partition"},":iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly"]]},'
    '{"Ref":"AWS::NoValue"}]}',
)
NATIVE_OIDC_PROVIDER = "@aws-cdk/aws-eks:useNativeOidcProvider"
"""aws-cdk-lib's feature flag (off unless set): the cluster's OIDC provider as a native resource."""
ALB_CONTROLLER_WILDCARDS = (
    "*",
    "arn:<AWS::Partition>:ec2:*:*:security-group/*",
    "arn:<AWS::Partition>:elasticloadbalancing:*:*:loadbalancer/app/*/*",
    "arn:<AWS::Partition>:elasticloadbalancing:*:*:loadbalancer/net/*/*",
    "arn:<AWS::Partition>:elasticloadbalancing:*:*:listener/app/*/*/*",
    "arn:<AWS::Partition>:elasticloadbalancing:*:*:listener/net/*/*/*",
    "arn:<AWS::Partition>:elasticloadbalancing:*:*:listener-rule/app/*/*/*",
    "arn:<AWS::Partition>:elasticloadbalancing:*:*:listener-rule/net/*/*/*",
    "arn:<AWS::Partition>:elasticloadbalancing:*:*:targetgroup/*/*",
)


class MicroservicesShopStack(Stack):
    """EKS + four RDS MySQL + ElastiCache Redis + ECR + S3 (media, lake) for the services."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: DeploymentConfig, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        # The cluster's OIDC provider (the controller's service account) as the native
        # AWS::IAM::OIDCProvider, not aws-cdk-lib's deprecated custom resource, whose Lambda role
        # holds iam:*OpenIDConnectProvider on every provider of the account (Resource '*')
        self.node.set_context(NATIVE_OIDC_PROVIDER, True)
        Tags.of(self).add("project", "cloudmall")
        Tags.of(self).add("pattern", "microservices")

        self.repository = ImageRepository(self, "Images").repository
        network = Network(
            self,
            "Network",
            availability_zones=config.availability_zones[:2],
            cidr=VPC_CIDR,
            # External Secrets reads Secrets Manager all day; the nodes reach the rest (ECR,
            # EKS, STS) through the NAT gateways: no Session Manager on managed nodes here
            interface_endpoints=("SecretsManager",),
        )
        self.network = network
        self.cluster = self._cluster(network)
        nodes = self.cluster.cluster_security_group

        log_bucket = LogBucket(self, "AccessLogs").bucket
        media = private_bucket(self, "Media", access_logs=log_bucket, access_logs_prefix="s3/")
        lake = DataLake(self, "Lake", access_logs=log_bucket, database_name="cloudmall_lake_eks")
        self.databases = {
            service.name: Database(
                self,
                f"{service.name.title()}Database",
                vpc=network.vpc,
                subnets=network.data_subnets,
                instance_type=DB_INSTANCE_TYPE,
                identifier=f"cloudmall-eks-{service.name}",
                database_name=service.name,
                secret_name=database_secret(service.name),
            )
            for service in SERVICES
        }
        for name, database in self.databases.items():
            database.allow_from(nodes, f"MySQL from the EKS pods ({name})")
        # AWS Backup every night, each database's restore tested every week (one plan for four)
        Backups(
            self,
            "Backups",
            access_logs=log_bucket,
            database_resources=[db.backup_resource() for db in self.databases.values()],
        )
        cache = Cache(self, "Cache", vpc=network.vpc, subnets=network.data_subnets)
        cache.allow_from(nodes, "Redis (TLS) from the EKS pods")
        cast(secretsmanager.CfnSecret, cache.auth_token.node.default_child).name = SHARED_SECRETS[
            "cache"
        ]
        # The Secrets Manager endpoint from the nodes' subnets: by range, as the cluster's own
        # security group depends on the VPC (a reference to it would be a cycle).
        for endpoint in network.endpoints.values():
            for cidr in APP_SUBNET_CIDRS:
                endpoint.connections.allow_default_port_from(
                    ec2.Peer.ipv4(cidr), "HTTPS from the EKS nodes and pods"
                )

        secrets = [cache.auth_token, *self._secrets(cache, media, lake)]
        secrets += [database.secret for database in self.databases.values()]  # type: ignore[misc]
        self._pod_identities(secrets, media, lake)
        self.firewall = WebFirewall(self, "Firewall")

        topic = AlarmTopic(self, "Alarms", email=config.alarm_email).topic
        self.alarms = self._alarms(topic, cache)

        CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        CfnOutput(self, "ImageRepositoryUri", value=self.repository.repository_uri)
        CfnOutput(self, "WebAclArn", value=self.firewall.web_acl.attr_arn)
        CfnOutput(self, "AccessLogsBucket", value=log_bucket.bucket_name)
        CfnOutput(self, "MediaBucket", value=media.bucket_name)
        CfnOutput(self, "LakeBucket", value=lake.bucket.bucket_name)
        CfnOutput(self, "AlarmTopicArn", value=topic.topic_arn)

    def _cluster(self, network: Network) -> eks.Cluster:
        cluster = eks.Cluster(
            self,
            "Cluster",
            version=eks.KubernetesVersion.of(KUBERNETES_VERSION),
            vpc=network.vpc,
            vpc_subnets=[network.app_subnets],
            # the API only from the VPC (the kubectl provider runs there; operators through
            # SSM or a VPN): no public endpoint
            endpoint_access=eks.EndpointAccess.PRIVATE,
            default_capacity_type=eks.DefaultCapacityType.NODEGROUP,
            default_capacity=0,
            cluster_logging=[
                eks.ClusterLoggingTypes.API,
                eks.ClusterLoggingTypes.AUDIT,
                eks.ClusterLoggingTypes.AUTHENTICATOR,
                eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
                eks.ClusterLoggingTypes.SCHEDULER,
            ],
            kubectl_provider_options=eks.KubectlProviderOptions(
                kubectl_layer=KubectlV35Layer(self, "Kubectl")
            ),
            alb_controller=eks.AlbControllerOptions(version=eks.AlbControllerVersion.V2_9_2),
        )
        self._acknowledge_cluster(cluster)
        cluster.add_nodegroup_capacity(
            "Nodes",
            instance_types=[ec2.InstanceType(NODE_INSTANCE_TYPE)],
            subnets=network.app_subnets,
            ami_type=eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
            **NODES,
        )
        addons = {
            # network policies (deploy/k8s) are enforced only with this on
            "VpcCni": ("vpc-cni", {"enableNetworkPolicy": "true"}),
            "PodIdentityAgent": ("eks-pod-identity-agent", None),
            "MetricsServer": ("metrics-server", None),
        }
        for construct_id, (name, values) in addons.items():
            eks.Addon(
                self,
                construct_id,
                cluster=cluster,
                addon_name=name,
                configuration_values=values,
                preserve_on_delete=False,
            )
        cluster.add_helm_chart(
            "ExternalSecrets",
            chart="external-secrets",
            repository="https://charts.external-secrets.io",
            release="external-secrets",
            version=EXTERNAL_SECRETS_CHART_VERSION,
            namespace=EXTERNAL_SECRETS_NAMESPACE,
            create_namespace=True,
            values={"serviceAccount": {"name": EXTERNAL_SECRETS_SERVICE_ACCOUNT}},
        )
        return cluster

    def _acknowledge_cluster(self, cluster: eks.Cluster) -> None:
        """What aws_eks_v2 makes as EKS and the load balancer controller document it."""
        for policy in EKS_MANAGED_POLICIES:
            acknowledge(
                cluster,
                f"AwsSolutions-IAM4[Policy::{policy}]",
                "The EKS service role, the managed nodes' role and the kubectl provider's roles "
                "use the AWS managed policies EKS documents for them; AWS keeps them in step "
                "with the service.",
            )
        acknowledge(
            cluster,
            "AwsSolutions-IAM5[Resource::<ClusterKubectlProviderHandler2E05C68A.Arn>:*]",
            "The custom resource framework invokes the kubectl handler's versions ("
            "function ARN + ':*'): one function, made by aws-cdk-lib.",
        )
        acknowledge(
            cluster,
            "AwsSolutions-L1",
            "The kubectl provider's handler runtime is chosen by aws-cdk-lib with the kubectl "
            "layer it ships; it runs only during deployments, from the VPC.",
        )
        controller = cluster.alb_controller
        assert controller is not None
        for finding in ALB_CONTROLLER_WILDCARDS:
            acknowledge(
                controller,
                f"AwsSolutions-IAM5[Resource::{finding}]",
                "The AWS Load Balancer Controller's published IAM policy (the one aws-cdk-lib "
                "installs for its version): it creates and tags load balancers, target groups, "
                "listeners and security groups whose names it makes at run time, limited by "
                "the elbv2.k8s.aws/cluster tag conditions of that policy.",
            )

    def _secrets(
        self, cache: Cache, media: s3.IBucket, lake: DataLake
    ) -> list[secretsmanager.Secret]:
        """The shared secrets, by the names the manifests' ExternalSecrets read."""

        def generated(key: str, description: str) -> secretsmanager.Secret:
            return secretsmanager.Secret(
                self,
                key.title().replace("_", ""),
                secret_name=SHARED_SECRETS[key],
                description=f"cloudmall (EKS) {description}",
                generate_secret_string=secretsmanager.SecretStringGenerator(
                    exclude_punctuation=True, password_length=64
                ),
            )

        found = [
            generated("secret_key", "CLOUDMALL_SECRET_KEY"),
            generated("internal_secret", "CLOUDMALL_INTERNAL_SECRET (calls between services)"),
            # Placeholders until the operator puts the Ed25519 pair (`cloudmall keys generate`,
            # docs/deploy-aws.md): Secrets Manager cannot generate a PEM key.
            generated("token_signing_key", "CLOUDMALL_TOKEN_SIGNING_KEY (Ed25519 private PEM)"),
            generated("token_verify_keys", "CLOUDMALL_TOKEN_VERIFY_KEYS (Ed25519 public PEM)"),
            secretsmanager.Secret(
                self,
                "Endpoints",
                secret_name=SHARED_SECRETS["endpoints"],
                description="cloudmall (EKS) host and bucket names the services' settings name",
                secret_object_value={
                    "cache_host": SecretValue.unsafe_plain_text(cache.endpoint_address),
                    "media_bucket": SecretValue.unsafe_plain_text(media.bucket_name),
                    "lake_bucket": SecretValue.unsafe_plain_text(lake.bucket.bucket_name),
                },
            ),
        ]
        for secret in found:
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                "The pods read these through External Secrets at start (the signing keys, the "
                "internal secret, the endpoint names): rotating one is a deliberate change "
                "followed by a rollout of the services (docs/deploy-aws.md), not a schedule.",
            )
        return found

    def _pod_identity(self, construct_id: str, namespace: str, service_account: str) -> iam.Role:
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("pods.eks.amazonaws.com"),
            description=f"cloudmall EKS Pod Identity: {namespace}/{service_account}",
        )
        role.assume_role_policy.add_statements(  # type: ignore[union-attr]
            iam.PolicyStatement(
                actions=["sts:TagSession"],
                principals=[iam.ServicePrincipal("pods.eks.amazonaws.com")],
            )
        )
        eks.CfnPodIdentityAssociation(
            self,
            f"{construct_id}Association",
            cluster_name=self.cluster.cluster_name,
            namespace=namespace,
            service_account=service_account,
            role_arn=role.role_arn,
        )
        return role

    def _pod_identities(
        self, secrets: list[secretsmanager.ISecret], media: s3.IBucket, lake: DataLake
    ) -> None:
        """External Secrets reads the services' secrets; products the media; the lake exports
        the lake. Nothing else in the cluster gets AWS permissions from this stack."""
        operator = self._pod_identity(
            "ExternalSecrets", EXTERNAL_SECRETS_NAMESPACE, EXTERNAL_SECRETS_SERVICE_ACCOUNT
        )
        for secret in secrets:
            secret.grant_read(operator)
        products = self._pod_identity("Products", NAMESPACE, "products")
        products.add_to_principal_policy(
            iam.PolicyStatement(
                sid="MediaObjects",
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[media.arn_for_objects("*")],
            )
        )
        products.add_to_principal_policy(
            iam.PolicyStatement(
                sid="MediaList", actions=["s3:ListBucket"], resources=[media.bucket_arn]
            )
        )
        acknowledge(
            products,
            f"AwsSolutions-IAM5[Resource::<{logical_id(media)}.Arn>/*]",
            "The product service stores images under content-hash keys it makes at upload "
            "time, so the key space cannot be listed in advance; the wildcard is object keys "
            "of this one bucket, with three exact object actions.",
        )
        lake.grant_export(self._pod_identity("LakeExport", NAMESPACE, LAKE_SERVICE_ACCOUNT))

    def _alarms(self, topic: object, cache: Cache) -> list[cloudwatch.Alarm]:
        action = cw_actions.SnsAction(topic)  # type: ignore[arg-type]
        alarms = []
        for name, database in self.databases.items():
            alarm = database.metric_cpu().create_alarm(
                self,
                f"{name.title()}DatabaseCpu",
                threshold=CPU_ALARM_PERCENT,
                evaluation_periods=3,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=(
                    f"cloudmall (EKS): the {name} database's CPU above {CPU_ALARM_PERCENT} % "
                    "for 15 min"
                ),
            )
            alarms.append(alarm)
        cache_cpu = cloudwatch.Metric(
            namespace="AWS/ElastiCache",
            metric_name="EngineCPUUtilization",
            dimensions_map={"ReplicationGroupId": cache.replication_group_id},
            statistic="Maximum",
            period=Duration.minutes(5),
        )
        alarms.append(
            cache_cpu.create_alarm(
                self,
                "CacheCpu",
                threshold=CPU_ALARM_PERCENT,
                evaluation_periods=3,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=(
                    f"cloudmall (EKS): Redis engine CPU above {CPU_ALARM_PERCENT} % for 15 min"
                ),
            )
        )
        for alarm in alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
        return alarms
