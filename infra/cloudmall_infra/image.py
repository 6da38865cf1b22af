"""The app's container image (the repository's Dockerfile): the one artifact every pattern runs.

Either the image `cdk deploy` builds from the Dockerfile (a CDK asset, tagged with the hash of
its inputs), or an image the pipeline pushed, named by ``image_uri`` in context.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from constructs import Construct

REPO_ROOT = Path(__file__).resolve().parents[2]
# The guide's container name: buildspec.yml writes it into imagedefinitions.json.
CONTAINER_NAME = "shopping-mall-app"
IMAGE_UID = 10001  # the Dockerfile's non-root user
APP_PORT = 8000
KEEP_IMAGES = 50


@dataclass(frozen=True)
class AppImage:
    """An image URI and what grants pulling it."""

    uri: str
    repository: ecr.IRepository

    def grant_pull(self, grantee: iam.IGrantable) -> None:
        self.repository.grant_pull(grantee)


def app_image(scope: Construct, construct_id: str, image_uri: str | None) -> AppImage:
    """``image_uri`` (``<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>``) when
    given, else the Dockerfile's image built by `cdk deploy` as an asset."""
    if image_uri:
        name = image_uri.split("/", 1)[1].rsplit(":", 1)[0].split("@", 1)[0]
        if ".dkr.ecr." not in image_uri or not name:
            raise ValueError(f"image_uri must name an image in ECR, not {image_uri!r}")
        repository = ecr.Repository.from_repository_name(scope, construct_id, name)
        return AppImage(uri=image_uri, repository=repository)
    asset = ecr_assets.DockerImageAsset(
        scope,
        construct_id,
        directory=str(REPO_ROOT),
        target="runtime",
        # The runtime target never reads tests/ (only the test stage does): a change to a test
        # must not make a new image, and so a rolling replacement of every instance.
        exclude=["tests"],
        platform=ecr_assets.Platform.LINUX_AMD64,
    )
    return AppImage(uri=asset.image_uri, repository=asset.repository)


class ImageRepository(Construct):
    """Where the pipeline pushes: scanned on push, immutable tags, old images expire."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.repository = ecr.Repository(
            self,
            "Repository",
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.AES_256,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    rule_priority=1,
                    description="untagged layers of interrupted pushes",
                    tag_status=ecr.TagStatus.UNTAGGED,
                    max_image_age=Duration.days(7),
                ),
                ecr.LifecycleRule(
                    rule_priority=2,
                    description=f"keep the last {KEEP_IMAGES} images (roll-back targets)",
                    tag_status=ecr.TagStatus.ANY,
                    max_image_count=KEEP_IMAGES,
                ),
            ],
        )

    def image_uri(self, tag: str) -> str:
        return self.repository.repository_uri_for_tag(tag)

    @property
    def registry(self) -> str:
        stack = Stack.of(self)
        return f"{stack.account}.dkr.ecr.{stack.region}.{stack.url_suffix}"
