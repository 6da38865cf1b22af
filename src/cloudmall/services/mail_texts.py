"""The shop's mails in each language it writes (Korean first, English): subject and plain text.

Each function takes what the mail says and returns (subject, text); the reader fills in names,
amounts and links. Links point at the storefront (`public_url`, its hash routes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ZERO_DECIMAL_CURRENCIES = frozenset({"KRW", "JPY"})


@dataclass(frozen=True, slots=True)
class MailTexts:
    """Writes each mail in `language` ("ko" or "en"); money in `currency`."""

    public_url: str
    currency: str

    def money(self, amount: str | Decimal) -> str:
        places = 0 if self.currency in ZERO_DECIMAL_CURRENCIES else 2
        figure = f"{Decimal(amount):,.{places}f}"
        return f"₩{figure}" if self.currency == "KRW" else f"{figure} {self.currency}"

    def link(self, route: str) -> str:
        return f"{self.public_url.rstrip('/')}/#{route}"

    def welcome(self, language: str, *, name: str) -> tuple[str, str]:
        shop = self.link("/")
        if language == "en":
            return "Welcome to cloudmall", (
                f"Hello {name},\n\nYour cloudmall account is ready. Happy shopping!\n\n{shop}\n"
            )
        return "cloudmall에 오신 것을 환영합니다", (
            f"{name}님, 안녕하세요.\n\n"
            f"cloudmall 회원가입이 완료되었습니다. 즐거운 쇼핑 되세요!\n\n{shop}\n"
        )

    def order_placed(
        self,
        language: str,
        *,
        name: str,
        order_id: int,
        amount: str,
        lines: Sequence[Mapping[str, Any]],
    ) -> tuple[str, str]:
        items = "\n".join(
            f"- {line['product_name']} × {line['quantity']}  {self.money(line['unit_price'])}"
            for line in lines
        )
        order = self.link(f"/orders/{order_id}")
        total = self.money(amount)
        if language == "en":
            return f"Order #{order_id} received", (
                f"Hello {name},\n\nThank you for your order #{order_id}.\n\n{items}\n\n"
                f"Total: {total}\n\nPay for it or follow it here: {order}\n"
            )
        return f"주문 #{order_id}이(가) 접수되었습니다", (
            f"{name}님, 주문해 주셔서 감사합니다. 주문 번호는 #{order_id}입니다.\n\n{items}\n\n"
            f"합계: {total}\n\n결제와 배송 상황은 여기에서 확인하세요: {order}\n"
        )

    def order_shipped(
        self,
        language: str,
        *,
        name: str,
        order_id: int,
        carrier: str | None,
        tracking: str | None,
    ) -> tuple[str, str]:
        order = self.link(f"/orders/{order_id}")
        en = language == "en"
        parcel = [
            f"{'Carrier' if en else '택배사'}: {carrier}" if carrier else "",
            f"{'Tracking number' if en else '운송장 번호'}: {tracking}" if tracking else "",
        ]
        facts = "".join(f"{line}\n" for line in parcel if line)
        facts = f"{facts}\n" if facts else ""
        if en:
            return f"Order #{order_id} is on its way", (
                f"Hello {name},\n\nYour order #{order_id} has been shipped.\n\n{facts}{order}\n"
            )
        return f"주문 #{order_id}이(가) 발송되었습니다", (
            f"{name}님, 주문 #{order_id}의 상품을 보냈습니다.\n\n{facts}{order}\n"
        )

    def refunded(self, language: str, *, name: str, order_id: int, amount: str) -> tuple[str, str]:
        order = self.link(f"/orders/{order_id}")
        refund = self.money(amount)
        if language == "en":
            return f"Refund for order #{order_id}", (
                f"Hello {name},\n\nWe have refunded {refund} for your order #{order_id} to the "
                f"card you paid with. Your card issuer may take a few days to show it.\n\n{order}\n"
            )
        return f"주문 #{order_id} 환불 안내", (
            f"{name}님, 주문 #{order_id}의 결제 금액 {refund}을(를) 결제하신 카드로 환불했습니다. "
            f"카드사에 따라 반영까지 며칠이 걸릴 수 있습니다.\n\n{order}\n"
        )

    def password_reset(
        self, language: str, *, name: str, token: str, valid_minutes: int
    ) -> tuple[str, str]:
        reset = self.link(f"/reset-password?token={token}")
        if language == "en":
            return "Reset your cloudmall password", (
                f"Hello {name},\n\nSomeone (we hope you) asked to reset your cloudmall password. "
                f"Choose a new one here within {valid_minutes} minutes; the link works once:\n\n"
                f"{reset}\n\nIf it was not you, ignore this mail: your password stays as it is.\n"
            )
        return "cloudmall 비밀번호 재설정", (
            f"{name}님, cloudmall 비밀번호 재설정을 요청하셨습니다. 아래 링크에서 "
            f"{valid_minutes}분 안에 새 비밀번호를 정해 주세요. 링크는 한 번만 쓸 수 있습니다.\n\n"
            f"{reset}\n\n요청하지 않으셨다면 이 메일을 무시하세요. 비밀번호는 바뀌지 않습니다.\n"
        )
