"""CloudFront forwards cookies to the shop: the refresh route reads its HttpOnly cookie.

Every behaviour that reaches the shop (an ALB or the HTTP API, not an S3 bucket) must send the
viewer's cookies to the origin and cache nothing, in every stack and configuration."""

from __future__ import annotations

from typing import Any

from infra_synth import Synth

#: AWS managed origin request policies and the cookies each forwards (CloudFront developer
#: guide, "Use managed origin request policies").
COOKIES_FORWARDED = {
    "216adef6-5c7f-47e4-b989-5492eafa07d3": "all",  # AllViewer
    "b689b0a8-53d0-40ab-baf2-68738e2966ac": "all",  # AllViewerExceptHostHeader
    "33f36d7e-f396-46d9-90e0-52428a34d9dc": "all",  # AllViewerAndCloudFrontHeaders-2022-06
    "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf": "none",  # CORS-S3Origin
    "59781a5b-3903-41f3-afcb-af62929ccde1": "none",  # CORS-CustomOrigin
    "acba4595-bd28-49b8-b9fe-13317c0390fa": "none",  # UserAgentRefererHeaders
}
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"


def shop_behaviours(synth: Synth) -> list[tuple[str, str, dict[str, Any]]]:
    """(stack, path pattern, behaviour) for every behaviour whose origin is not a bucket."""
    found = []
    for stack in synth.templates:
        for distribution in synth.resources(stack, "AWS::CloudFront::Distribution").values():
            config = distribution["Properties"]["DistributionConfig"]
            origins = {origin["Id"]: origin for origin in config["Origins"]}
            behaviours = [("*", config["DefaultCacheBehavior"])] + [
                (b["PathPattern"], b) for b in config.get("CacheBehaviors", [])
            ]
            for pattern, behaviour in behaviours:
                if "CustomOriginConfig" in origins[behaviour["TargetOriginId"]]:
                    found.append((stack, pattern, behaviour))
    return found


def test_every_route_to_the_shop_forwards_cookies_and_caches_nothing(
    all_synths: dict[str, Synth],
) -> None:
    for name, synth in all_synths.items():
        behaviours = shop_behaviours(synth)
        stacks = {stack for stack, _, _ in behaviours}
        assert "ServerlessShop" in stacks, name  # /api/* to the HTTP API
        if name != "internal":  # an internal ALB has no public route through CloudFront
            assert "ShoppingMall" in stacks, name
        for stack, pattern, behaviour in behaviours:
            where = f"{name}: {stack} {pattern}"
            assert COOKIES_FORWARDED[behaviour["OriginRequestPolicyId"]] == "all", where
            assert behaviour["CachePolicyId"] == CACHING_DISABLED, where
            assert "POST" in behaviour["AllowedMethods"], where
