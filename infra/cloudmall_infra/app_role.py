"""The app instances' IAM role: least privilege, as in the guide's IAM section.

Objects of the media bucket (read/write) and of the backups bucket (for ``cloudmall backup``),
its own SSM parameters and secrets (read), plus the two AWS managed policies an EC2 fleet needs
to be reachable by Session Manager and to ship metrics and logs.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cloudmall_infra.nag import acknowledge, logical_id

MANAGED_POLICIES = ("AmazonSSMManagedInstanceCore", "CloudWatchAgentServerPolicy")
OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject")


class AppRole(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, description: str) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description=description,
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(name) for name in MANAGED_POLICIES
            ],
        )
        reasons = {
            "AmazonSSMManagedInstanceCore": (
                "Session Manager instead of SSH: no key pairs, no port 22. This AWS managed "
                "policy is the documented minimum for the SSM agent and tracks its API changes."
            ),
            "CloudWatchAgentServerPolicy": (
                "The CloudWatch agent publishes mem_used_percent (the guide's memory panel) and "
                "ships app logs; this AWS managed policy is the documented minimum for it."
            ),
        }
        for name, reason in reasons.items():
            acknowledge(
                self.role,
                f"AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]",
                reason,
            )

    @property
    def grant_principal(self) -> iam.IPrincipal:
        return self.role.grant_principal

    def grant_objects(
        self, bucket: s3.IBucket, sid: str, *, actions: tuple[str, ...] = OBJECT_ACTIONS
    ) -> None:
        """Object-level actions on every object of ``bucket`` and listing it; nothing on the
        bucket's configuration, nothing on other buckets. Exact actions, no ``s3:*Object*``.
        """
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=f"{sid}Objects",
                actions=list(actions),
                resources=[bucket.arn_for_objects("*")],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=f"{sid}List", actions=["s3:ListBucket"], resources=[bucket.bucket_arn]
            )
        )
        acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::<{logical_id(bucket)}.Arn>/*]",
            "The app stores images under content-hash keys it makes at upload time (and "
            "`cloudmall backup` dated dumps), so the key space cannot be listed in advance; "
            "the wildcard is object keys of this one bucket, with three exact object actions.",
        )
