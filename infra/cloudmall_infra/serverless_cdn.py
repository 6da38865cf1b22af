"""CloudFront for the serverless shop: the storefront and media from S3 (origin access control),
`/api/*` to the HTTP API; one domain, so the storefront calls the API on its own origin."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from cloudmall_infra.buckets import private_bucket
from cloudmall_infra.nag import acknowledge

SITE_PREFIX = "site"
MEDIA_PREFIX = "media"


def shop_bucket(scope: Construct, access_logs: s3.IBucket) -> s3.Bucket:
    """The storefront (under site/) and the media the functions write (under media/)."""
    return private_bucket(
        scope, "ShopBucket", access_logs=access_logs, access_logs_prefix="s3/serverless/"
    )


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
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = bucket
        headers = cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS
        site = origins.S3BucketOrigin.with_origin_access_control(
            self.bucket, origin_path=f"/{SITE_PREFIX}"
        )
        media = origins.S3BucketOrigin.with_origin_access_control(self.bucket)
        api = origins.HttpOrigin(
            api_domain, protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY
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
