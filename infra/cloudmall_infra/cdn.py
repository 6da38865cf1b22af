"""CloudFront in front of the shop: the ALB for dynamic paths, a private S3 bucket for media.

Only two prefixes of the bucket are reachable through CloudFront: ``/media/*`` (product images
the app writes under ``media/``) and ``/static/*`` (the storefront files). Every other path goes
to the load balancer, with a secret origin-verify header the ALB requires; nothing else in the
bucket (and backups are in their own bucket anyway) can be fetched by URL.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import DefaultStackSynthesizer, Duration, RemovalPolicy, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cloudmall_infra.buckets import private_bucket
from cloudmall_infra.nag import acknowledge, logical_id

STATIC_PREFIX = "static"
MEDIA_PREFIX = "media"  # CLOUDMALL_STORAGE_URL s3://bucket/media; links are <cdn>/media/<key>
ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
VIEWER_ADDRESS_HEADER = "CloudFront-Viewer-Address"  # "ip:port" of the client


class MediaCdn(Construct):
    """A private, versioned, TLS-only bucket; CloudFront reads it through origin access control.

    The app writes product images (content-hash keys, immutable cache headers); the storefront's
    static files are deployed under ``static/`` and invalidated on every deployment.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        access_logs: s3.IBucket,
        static_dir: Path,
        domain_name: str | None = None,
        certificate_arn: str | None = None,
        load_balancer_domain: str | None = None,
        origin_verify: secretsmanager.ISecret | None = None,
    ) -> None:
        """``load_balancer_domain``: the ALB's DNS name, the origin of every dynamic path (the
        viewer's Host header is forwarded, so the ALB's certificate for the shop's domain
        matches); ``None`` (an internal ALB) serves the storefront files at the root instead.
        """
        super().__init__(scope, construct_id)
        self.bucket = private_bucket(
            self, "Bucket", access_logs=access_logs, access_logs_prefix="s3/media/"
        )
        self.headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="cloudmall: security headers and read-only CORS for static assets",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365),
                    include_subdomains=True,
                    preload=True,
                    override=True,
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
                xss_protection=cloudfront.ResponseHeadersXSSProtection(
                    protection=True, mode_block=True, override=True
                ),
            ),
            cors_behavior=cloudfront.ResponseHeadersCorsBehavior(
                access_control_allow_credentials=False,
                access_control_allow_headers=["*"],
                access_control_allow_methods=["GET", "HEAD", "OPTIONS"],
                access_control_allow_origins=["*"],
                access_control_max_age=Duration.hours(1),
                origin_override=False,
            ),
        )
        certificate = (
            acm.Certificate.from_certificate_arn(self, "Certificate", certificate_arn)
            if certificate_arn
            else None
        )
        bucket_origin = origins.S3BucketOrigin.with_origin_access_control(self.bucket)

        def from_bucket(origin: cloudfront.IOrigin) -> cloudfront.BehaviorOptions:
            return cloudfront.BehaviorOptions(
                origin=origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD_OPTIONS,
                cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD_OPTIONS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=self.headers,
                compress=True,
            )

        if load_balancer_domain is not None:
            if origin_verify is None:
                raise ValueError("an ALB origin needs the origin-verify secret the ALB checks")
            default_behavior = cloudfront.BehaviorOptions(
                origin=origins.HttpOrigin(
                    load_balancer_domain,
                    protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                    origin_ssl_protocols=[cloudfront.OriginSslPolicy.TLS_V1_2],
                    custom_headers={
                        ORIGIN_VERIFY_HEADER: origin_verify.secret_value.unsafe_unwrap()
                    },
                    read_timeout=Duration.seconds(60),
                ),
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                # the viewer's headers (Host: the ALB's certificate matches it) and CloudFront's,
                # among them CloudFront-Viewer-Address, the client the app's rate limits count
                origin_request_policy=(
                    cloudfront.OriginRequestPolicy.ALL_VIEWER_AND_CLOUDFRONT_2022
                ),
                compress=True,
            )
        else:
            # No public dynamic origin: the storefront's files at the root, nothing else.
            default_behavior = from_bucket(
                origins.S3BucketOrigin.with_origin_access_control(
                    self.bucket, origin_path=f"/{STATIC_PREFIX}"
                )
            )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="cloudmall: the shop, its media and storefront",
            default_behavior=default_behavior,
            additional_behaviors={
                f"/{MEDIA_PREFIX}/*": from_bucket(bucket_origin),
                f"/{STATIC_PREFIX}/*": from_bucket(bucket_origin),
            },
            domain_names=[domain_name] if domain_name else None,
            certificate=certificate,
            minimum_protocol_version=(
                cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None
            ),
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_200,  # includes Korea and Japan
            enable_ipv6=True,
            enable_logging=True,
            log_bucket=access_logs,
            log_file_prefix="cloudfront/",
        )
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Storefront",
            sources=[s3deploy.Source.asset(str(static_dir))],
            destination_bucket=self.bucket,
            destination_key_prefix=f"{STATIC_PREFIX}/",
            distribution=self.distribution,
            distribution_paths=[f"/{STATIC_PREFIX}/*"],
            prune=True,  # only under static/: the app's images live elsewhere in the bucket
            retain_on_delete=True,
            memory_limit=512,
            log_group=logs.LogGroup(
                self,
                "StorefrontDeploymentLogs",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=RemovalPolicy.DESTROY,
            ),
        )
        self._acknowledge(certificate is not None)

    @property
    def base_url(self) -> str:
        domain = self.distribution.domain_name
        return f"https://{domain}"

    def _acknowledge(self, custom_certificate: bool) -> None:
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "A shop sells where its customers are; there is no legal restriction to encode, and "
            "the content is public product media and storefront files.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "A CloudFront-scope WAF must live in us-east-1, which this single-region stack does "
            "not deploy to; every dynamic request CloudFront forwards passes the ALB's regional "
            "WAF (managed rules, a per-client rate limit on X-Forwarded-For) first.",
        )
        if not custom_certificate:
            acknowledge(
                self.distribution,
                "AwsSolutions-CFR4",
                "No custom domain was configured, so the distribution uses *.cloudfront.net, "
                "whose viewer security policy CloudFront fixes. Give cdn_domain_name + "
                "cdn_certificate_arn (us-east-1) to enforce TLSv1.2_2021; see docs/deploy-aws.md.",
            )
        # The storefront deployment's handler (a CDK singleton Lambda in the stack).
        stack = Stack.of(self)
        assets_bucket = (
            DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace(
                "${Qualifier}",
                stack.synthesizer.bootstrap_qualifier or DefaultStackSynthesizer.DEFAULT_QUALIFIER,
            )
            .replace("${AWS::AccountId}", stack.account)
            .replace("${AWS::Region}", stack.region)
        )
        findings = _bucket_deployment_findings(
            media_bucket=logical_id(self.bucket), assets_bucket=assets_bucket
        )
        for finding, reason in findings.items():
            acknowledge(self.deployment.handler_role, finding, reason)
        for child in stack.node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                acknowledge(
                    child,
                    "AwsSolutions-L1",
                    "CDK's BucketDeployment handler: its runtime is pinned by aws-cdk-lib and "
                    "moves forward with CDK upgrades; it runs only during deployments.",
                )


def origin_verify_secret(scope: Construct, construct_id: str) -> secretsmanager.Secret:
    """The value of the header CloudFront adds and the ALB requires (a generated secret)."""
    secret = secretsmanager.Secret(
        scope,
        construct_id,
        description=f"cloudmall: the {ORIGIN_VERIFY_HEADER} header CloudFront sends to the ALB",
        generate_secret_string=secretsmanager.SecretStringGenerator(
            exclude_punctuation=True, password_length=48
        ),
    )
    acknowledge(
        secret,
        "AwsSolutions-SMG4",
        "The value lives in two places CloudFormation sets together (CloudFront's origin "
        "header and the ALB's listener rule); rotating it is a redeploy with a new value, "
        "which keeps the two in step. See docs/deploy-aws.md.",
    )
    return secret


_CDK_MANAGED = (
    "CDK's BucketDeployment handler (runs only during a deployment to copy the storefront "
    "files); its policy is generated by aws-cdk-lib. "
)


def _bucket_deployment_findings(*, media_bucket: str, assets_bucket: str) -> dict[str, str]:
    """What aws-cdk-lib's BucketDeployment grants its handler: read the staged asset zip in the
    CDK bootstrap bucket, sync (get/put/delete/list) objects of the media bucket, invalidate.
    """
    findings = {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]": _CDK_MANAGED
        + "The managed policy only lets it write its own CloudWatch logs.",
        f"AwsSolutions-IAM5[Resource::<{media_bucket}.Arn>/*]": _CDK_MANAGED
        + "It syncs the objects under static/ of the media bucket.",
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::{assets_bucket}/*]": _CDK_MANAGED
        + "It reads the staged storefront zip from the CDK bootstrap assets bucket.",
        "AwsSolutions-IAM5[Resource::*]": _CDK_MANAGED
        + "cloudfront:CreateInvalidation/GetInvalidation, which CDK grants on * to invalidate "
        "/static/* once the files change.",
    }
    for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*"):
        findings[f"AwsSolutions-IAM5[Action::{action}]"] = (
            _CDK_MANAGED + f"{action} is part of CDK's read/sync grant on those two buckets."
        )
    return findings
