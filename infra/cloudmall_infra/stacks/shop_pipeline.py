"""The guide's CI/CD: GitHub → CodeBuild (buildspec.yml) → staging → approval → production.

CodePipeline V2. The source is a CodeConnections connection to GitHub (made once in the console,
its ARN given as context); CodeBuild runs the repository's buildspec.yml (unit tests in the image,
push to ECR, imagedefinitions.json); ECS deploys roll each service with the circuit breaker on.
Failures and pending approvals are sent to an SNS topic.
"""

from __future__ import annotations

from aws_cdk import Annotations, CfnOutput, Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cloudmall_infra.buckets import LogBucket, private_bucket
from cloudmall_infra.container_config import ContainerConfig
from cloudmall_infra.container_service import FargateShop
from cloudmall_infra.monitoring import AlarmTopic
from cloudmall_infra.nag import acknowledge, logical_id

BUILDSPEC = "buildspec.yml"
# What CDK's pipeline and CodeBuild grants contain, with why each wildcard is bounded.
ARTIFACT_ACTIONS = ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*")
KMS_ACTIONS = ("kms:ReEncrypt*", "kms:GenerateDataKey*")
FAILURE_EVENTS = (
    codepipeline.PipelineNotificationEvents.PIPELINE_EXECUTION_FAILED,
    codepipeline.PipelineNotificationEvents.ACTION_EXECUTION_FAILED,
    codepipeline.PipelineNotificationEvents.MANUAL_APPROVAL_NEEDED,
)


class ShopPipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        container_config: ContainerConfig,
        repository: ecr.IRepository,
        staging: FargateShop,
        production: FargateShop,
        alarm_email: str | None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        Tags.of(self).add("project", "cloudmall")
        Tags.of(self).add("pattern", "ci-cd")
        owner, name = container_config.github_repository.split("/")

        notifications = AlarmTopic(self, "Notifications", email=alarm_email)
        notifications.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCodeStarNotificationsToPublish",
                principals=[iam.ServicePrincipal("codestar-notifications.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
            )
        )
        key = kms.Key(
            self,
            "ArtifactsKey",
            description="cloudmall pipeline artifacts and build logs",
            enable_key_rotation=True,
        )
        access_logs = LogBucket(self, "AccessLogs").bucket
        artifacts = private_bucket(
            self,
            "Artifacts",
            access_logs=access_logs,
            access_logs_prefix="s3/artifacts/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        build_logs = logs.LogGroup(
            self,
            "BuildLogs",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.project = codebuild.PipelineProject(
            self,
            "Build",
            description="cloudmall: unit tests in the image, push to ECR, imagedefinitions.json",
            build_spec=codebuild.BuildSpec.from_source_filename(BUILDSPEC),
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                compute_type=codebuild.ComputeType.SMALL,
                privileged=True,  # docker build
            ),
            environment_variables={
                "IMAGE_REPO_NAME": codebuild.BuildEnvironmentVariable(
                    value=repository.repository_name
                ),
                "AWS_ACCOUNT_ID": codebuild.BuildEnvironmentVariable(value=self.account),
            },
            encryption_key=key,
            timeout=Duration.minutes(30),
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=build_logs)
            ),
        )
        repository.grant_pull_push(self.project)
        repository.grant(self.project, "ecr:DescribeImages")
        acknowledge(
            self.project,
            "AwsSolutions-CB3",
            "Privileged mode is what `docker build` needs in CodeBuild; the project only builds "
            "this repository's Dockerfile from the pipeline's own source artifact.",
        )

        source = codepipeline.Artifact("Source")
        image = codepipeline.Artifact("ImageDefinitions")
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            execution_mode=codepipeline.ExecutionMode.QUEUED,
            artifact_bucket=artifacts,
            restart_execution_on_update=False,
            stages=[
                codepipeline.StageProps(
                    stage_name="Source",
                    actions=[
                        actions.CodeStarConnectionsSourceAction(
                            action_name="GitHub",
                            connection_arn=container_config.github_connection_arn,
                            owner=owner,
                            repo=name,
                            branch=container_config.github_branch,
                            output=source,
                            trigger_on_push=True,
                        )
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="Build",
                    actions=[
                        actions.CodeBuildAction(
                            action_name="TestBuildPush",
                            project=self.project,
                            input=source,
                            outputs=[image],
                        )
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="Staging",
                    actions=[
                        actions.EcsDeployAction(
                            action_name="DeployStaging",
                            service=staging.service,
                            input=image,
                            deployment_timeout=Duration.minutes(30),
                            role=self._deploy_role("Staging", staging, artifacts, key),
                        )
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="Approval",
                    actions=[
                        actions.ManualApprovalAction(
                            action_name="ApproveProduction",
                            notification_topic=notifications.topic,
                            additional_information=(
                                "Staging runs the new image: check it (docs/deploy-aws.md), then "
                                "approve to deploy it to production."
                            ),
                        )
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="Production",
                    actions=[
                        actions.EcsDeployAction(
                            action_name="DeployProduction",
                            service=production.service,
                            input=image,
                            deployment_timeout=Duration.minutes(30),
                            role=self._deploy_role("Production", production, artifacts, key),
                        )
                    ],
                ),
            ],
        )
        self.pipeline.notify_on(
            "Failures",
            notifications.topic,
            events=list(FAILURE_EVENTS),
            detail_type=None,
            notification_rule_name=f"{self.stack_name}-failures",
        )
        self._acknowledge_cdk_grants(artifacts)
        if container_config.connection_is_placeholder:
            Annotations.of(self).add_warning_v2(
                "cloudmall:placeholderConnection",
                "github_connection_arn is a placeholder: fine for `synth`; create a connection "
                "to GitHub (docs/deploy-aws.md) and pass -c github_connection_arn=<its ARN>",
            )
        CfnOutput(self, "PipelineName", value=self.pipeline.pipeline_name)
        CfnOutput(self, "NotificationTopicArn", value=notifications.topic.topic_arn)

    def _deploy_role(
        self, stage: str, shop: FargateShop, artifacts: s3.IBucket, key: kms.IKey
    ) -> iam.IRole:
        """The ECS deploy action's role, scoped to one stage's service, its tasks and task roles.

        CDK's default grants ecs:* and iam:PassRole on "*"; its policy updates are turned off
        (``without_policy_updates``) and these statements name what IAM lets us name.
        """
        role = iam.Role(
            self,
            f"Deploy{stage}Role",
            assumed_by=iam.AccountPrincipal(self.account),
            description=f"cloudmall pipeline: deploy the image to the {stage.lower()} service",
        )
        arn = f"arn:{self.partition}:ecs:{self.region}:{self.account}"
        cluster = family = shop.name
        statements = {
            "Service": (["ecs:DescribeServices", "ecs:UpdateService"], [shop.service.service_arn]),
            "Tasks": (["ecs:DescribeTasks"], [f"{arn}:task/{cluster}/*"]),
            "ListTasks": (["ecs:ListTasks"], [f"{arn}:container-instance/{cluster}/*"]),
            "TagTaskDefinition": (["ecs:TagResource"], [f"{arn}:task-definition/{family}:*"]),
            # no resource-level permissions in IAM for these two
            "TaskDefinitions": (
                ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
                ["*"],
            ),
            "PassTaskRoles": (
                ["iam:PassRole"],
                [
                    shop.task_definition.task_role.role_arn,
                    shop.task_definition.obtain_execution_role().role_arn,
                ],
            ),
            "ReadArtifacts": (["s3:GetObject"], [artifacts.arn_for_objects("*")]),
        }
        for sid, (actions_, resources) in statements.items():
            role.add_to_policy(iam.PolicyStatement(sid=sid, actions=actions_, resources=resources))
        key.grant_decrypt(role)
        nag_arn = f"arn:<AWS::Partition>:ecs:{self.region}:{self.account}"
        reasons = {
            f"{nag_arn}:task/{cluster}/*": "the tasks of this one cluster (ids made at run time)",
            f"{nag_arn}:container-instance/{cluster}/*": "ListTasks is scoped by container "
            "instance; this one cluster's",
            f"{nag_arn}:task-definition/{family}:*": "the revisions of this one task family, "
            "which each deployment registers",
            "*": "ecs:RegisterTaskDefinition and DescribeTaskDefinition have no resource-level "
            "permissions in IAM",
            f"<{logical_id(artifacts)}.Arn>/*": "objects of this pipeline's own artifact bucket, "
            "new keys per execution",
        }
        for resource, reason in reasons.items():
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{resource}]", f"Deploy role: {reason}.")
        return role.without_policy_updates()

    def _acknowledge_cdk_grants(self, artifacts: object) -> None:
        """The wildcards of CDK's generated pipeline and CodeBuild policies, each bounded."""
        assert isinstance(artifacts, Construct)
        artifacts_id = logical_id(artifacts)
        project_id = logical_id(self.project)
        reasons = {
            f"Resource::<{artifacts_id}.Arn>/*": (
                "Objects of this pipeline's own artifact bucket: every execution writes "
                "artifacts under new keys, which cannot be named in advance."
            ),
            "Resource::*": (
                "ecr:GetAuthorizationToken (CodeBuild) and the ECS deploy action's "
                "ecs:DescribeServices/RegisterTaskDefinition/DescribeTaskDefinition have no "
                "resource-level permissions in IAM."
            ),
            f"Resource::arn:<AWS::Partition>:logs:{self.region}:{self.account}:"
            f"log-group:/aws/codebuild/<{project_id}>:*": (
                "CDK's default grant for the project's own CodeBuild log group streams."
            ),
            f"Resource::arn:<AWS::Partition>:codebuild:{self.region}:{self.account}:"
            f"report-group/<{project_id}>-*": (
                "CDK's default grant for test report groups named after this project only."
            ),
        }
        for action in ARTIFACT_ACTIONS:
            reasons[f"Action::{action}"] = (
                "CDK's artifact-bucket grant (read/write of pipeline artifacts), limited to this "
                "pipeline's own bucket and its objects."
            )
        for action in KMS_ACTIONS:
            reasons[f"Action::{action}"] = (
                "CDK's grant on this pipeline's own artifact KMS key (encrypt/decrypt of "
                "artifacts and build logs); no other key."
            )
        for finding, reason in reasons.items():
            acknowledge(self, f"AwsSolutions-IAM5[{finding}]", reason)
