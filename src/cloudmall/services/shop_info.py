"""What the storefront shows of the business on every page (전자상거래법: the seller's identity)
and the versions of the documents customers agree to."""

from __future__ import annotations

from dataclasses import dataclass

from cloudmall.services.consents import LegalVersions


@dataclass(frozen=True, slots=True)
class BusinessDetails:
    name: str  # 상호
    representative: str  # 대표자
    registration_number: str  # 사업자등록번호
    mail_order_number: str  # 통신판매업 신고번호
    address: str
    phone: str  # 고객센터
    email: str


@dataclass(frozen=True, slots=True)
class ShopInfo:
    business: BusinessDetails
    legal: LegalVersions
