"""The business behind the shop, for every page's footer, and the legal documents' versions."""

from __future__ import annotations

from fastapi import APIRouter, Response

from cloudmall.services.commands import GetShopInfo
from cloudmall.web.deps import ShopDep
from cloudmall.web.schemas import ShopInfoOut

router = APIRouter(tags=["catalogue"])


@router.get("/api/shop/info", response_model=ShopInfoOut)
async def shop_info(shop: ShopDep, response: Response) -> ShopInfoOut:
    """상호, 대표자, 사업자등록번호, 통신판매업 신고번호, address, customer service phone and
    email (settings), and the current privacy policy and terms versions. Public."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return ShopInfoOut.of(await shop.handle(GetShopInfo()))
