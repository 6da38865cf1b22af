"""CloudFront for the serverless shop: the storefront and media from S3 (origin access control),
`/api/*` to the HTTP API; one domain, so the storefront calls the API on its own origin.

CloudFront proves itself to the functions with a secret origin header (`X-Origin-Verify`, the
value of a generated Secrets Manager secret, put in the template as a dynamic reference that
CloudFormation resolves at deploy); the functions refuse /api requests without it and then take
the client's address from `CloudFront-Viewer-Address`, which the managed AllViewerExceptHostHeader
policy forwards with the other CloudFront headers."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from cloudmall_infra.buckets import private_bucket
from cloudmall_infra.cdn import ORIGIN_VERIFY_HEADER
from cloudmall_infra.nag import acknowledge

SITE_PREFIX = "site"
MEDIA_PREFIX = "media"


def shop_bucket(scope: Construct, access_logs: s3.IBucket) -> s3.Bucket:
    """The storefront (under site/) and the media the functions write (under media/)."""
    return private_bucket(
        scope, "ShopBucket", access_logs=access_logs, access_logs_prefix="s3/serverless/"
    )


def api_origin_secret(scope: Construct) -> secretsmanager.Secret:
    """The value of the X-Origin-Verify header CloudFront adds to its requests to the API."""
    secret = secretsmanager.Secret(
        scope,
        "OriginVerify",
        description=f"cloudmall: the {ORIGIN_VERIFY_HEADER} header CloudFront sends the API",
        generate_secret_string=secretsmanager.SecretStringGenerator(
            exclude_punctuation=True, password_length=48
        ),
    )
    acknowledge(
        secret,
        "AwsSolutions-SMG4",
        "CloudFront's origin header is set from it when CloudFormation updates the distribution, "
        "and the functions read it at init: rotating it is a new value and a deploy that "
        "updates both (docs/serverless.md), not a schedule.",
    )
    return secret


class ServerlessCdn(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        access_logs: s3.IBucket,
        static_dir: Path,
        api_domain: str,
        origin_verify: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = bucket
        headers = cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS
        site = origins.S3BucketOrigin.with_origin_access_control(
            self.bucket, origin_path=f"/{SITE_PREFIX}"
        )
        media = origins.S3BucketOrigin.with_origin_access_control(self.bucket)
        api = origins.HttpOrigin(
            api_domain,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
            # A {{resolve:secretsmanager:…}} reference: the value is in no template or asset.
            custom_headers={ORIGIN_VERIFY_HEADER: origin_verify.secret_value.unsafe_unwrap()},
        )
        self.distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment="cloudmall serverless: storefront, media and API",
            default_root_object="index.html",
            default_behavior=cloudfront.BehaviorOptions(
                origin=site,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=headers,
                compress=True,
            ),
            additional_behaviors={
                f"/{MEDIA_PREFIX}/*": cloudfront.BehaviorOptions(
                    origin=media,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                    cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                    response_headers_policy=headers,
                ),
                "/api/*": cloudfront.BehaviorOptions(
                    origin=api,
                    viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                    allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                    cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                    # Every viewer header but Host, and CloudFront's own, among them
                    # CloudFront-Viewer-Address: the client the functions' limits count.
                    origin_request_policy=(
                        cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER
                    ),
                    response_headers_policy=headers,
                ),
            },
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=cloudfront.PriceClass.PRICE_CLASS_200,
            enable_logging=True,
            log_bucket=access_logs,
            log_file_prefix="cloudfront-serverless/",
        )
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Storefront",
            sources=[s3deploy.Source.asset(str(static_dir))],
            destination_bucket=self.bucket,
            destination_key_prefix=f"{SITE_PREFIX}/",
            distribution=self.distribution,
            distribution_paths=["/*"],
            prune=True,  # only under site/: the media live under media/
            retain_on_delete=True,
            memory_limit=512,
            cache_control=[s3deploy.CacheControl.max_age(Duration.minutes(5))],
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR1",
            "A shop sells where its customers are; there is no legal restriction to encode.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR2",
            "A CloudFront-scope WAF must live in us-east-1 (a stack of its own); here the HTTP "
            "API's stage throttling bounds the request rate and the shop limits log-ins and "
            "sign-ups per client address itself. docs/serverless.md lists the WAF as a gap.",
        )
        acknowledge(
            self.distribution,
            "AwsSolutions-CFR4",
            "No custom domain is configured, so the distribution uses *.cloudfront.net, whose "
            "viewer security policy CloudFront fixes; a custom domain brings TLSv1.2_2021.",
        )
