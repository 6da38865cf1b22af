"""A refused password is explained in the shopper's language, never as a validator's string."""

from __future__ import annotations

import secrets

from playwright.sync_api import Page, expect

from tests.e2e.browser.conftest import ConsoleGuard
from tests.e2e.browser.flows import agree_to_both
from tests.support import LiveServer


def try_sign_up(page: Page, *, name: str, email: str, password: str, label: str) -> None:
    page.get_by_label(name).fill("Kim")
    page.get_by_label(email).fill(f"pw-{secrets.token_hex(4)}@example.com")
    page.get_by_label(password, exact=True).fill("aaaaaaaaaaaa")
    agree_to_both(page)
    page.get_by_role("main").get_by_role("button", name=label).click()


def test_a_weak_password_is_refused_in_korean_then_in_english(
    shop: LiveServer, page: Page, guard: ConsoleGuard
) -> None:
    guard.allow_status(422)  # the refusal itself, shown in words
    page.goto(f"{shop.url}/#/signup")
    try_sign_up(page, name="이름", email="이메일", password="비밀번호", label="가입하기")
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "너무 흔하거나 추측하기 쉬운 비밀번호입니다. 다른 비밀번호를 정해 주세요."
    )
    page.get_by_role("button", name="Switch to English").click()
    try_sign_up(page, name="Name", email="Email", password="Password", label="Sign up")
    expect(page.get_by_role("alert")).to_have_text(
        "That password is too common or easy to guess. Please choose another."
    )
    assert "password_rejected" not in page.content() and "String should" not in page.content()
