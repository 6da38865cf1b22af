"""The public keys access tokens are verified with (JWKS), for other services and gateways."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Response

from cloudmall.services.commands import GetTokenKeys
from cloudmall.web.deps import ShopDep

router = APIRouter(tags=["accounts"])


@router.get("/.well-known/jwks.json")
async def token_keys(shop: ShopDep, response: Response) -> Mapping[str, object]:
    """The Ed25519 public keys (RFC 8037 JWKs, `kid` = RFC 7638 thumbprint) that verify access
    tokens, the signing key's first; empty keys when tokens are HS256. Public; cacheable for five
    minutes, so a new key is listed here that long before it signs (docs/security.md)."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return await shop.handle(GetTokenKeys())
