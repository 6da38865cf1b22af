"""Mail in a real browser: a forgotten password reset through the link in the mail a real SMTP
server (aiosmtpd) received, in Korean and in English, on a desktop and a phone; and a staff
account's one-time password, which the storefront makes its owner change at the first log-in."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import shop_env
from tests.e2e.browser.conftest import DESKTOP, ConsoleGuard, PageFactory, screenshot
from tests.e2e.client import CONSENT
from tests.mail_server import MailServer, mail_server
from tests.support import LiveServer, cli, free_port, scratch_database, start_server, stop_server

PHONE = {"width": 390, "height": 844}
OLD_PASSWORD = "my old passphrase 1"
NEW_PASSWORD = "a fresh passphrase 2"
LINK = re.compile(r"(http://\S+/#/reset-password\?token=\S+)")

WORDS = {
    "ko": {
        "forgot": "비밀번호를 잊으셨나요?",
        "email": "이메일",
        "send": "재설정 링크 받기",
        "sent": "비밀번호 재설정 링크를 보냈습니다",
        "welcome": "cloudmall에 오신 것을 환영합니다",
        "subject": "cloudmall 비밀번호 재설정",
        "new": "새 비밀번호",
        "change": "비밀번호 바꾸기",
        "done": "비밀번호를 바꿨습니다",
        "used": "이미 사용한 비밀번호 재설정 링크입니다",
        "logout": "로그아웃",
    },
    "en": {
        "forgot": "Forgot your password?",
        "email": "Email",
        "send": "Send me a link",
        "sent": "we have sent it a link to reset the password",
        "welcome": "Welcome to cloudmall",
        "subject": "Reset your cloudmall password",
        "new": "New password",
        "change": "Change password",
        "done": "Your password is changed",
        "used": "This password reset link has been used already",
        "logout": "Log out",
    },
}


@dataclass
class MailedShop:
    server: LiveServer
    mail: MailServer
    tmp_path: Path


@pytest.fixture(scope="module")
def mailed_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailedShop]:
    """A shop that sends its mail to a real SMTP server the test reads."""
    tmp_path = tmp_path_factory.mktemp("mailed-shop")
    port = free_port()
    with mail_server() as mail, scratch_database("sqlite", tmp_path) as url:
        env = shop_env(
            url,
            tmp_path,
            CLOUDMALL_SMTP_URL=mail.url(),
            CLOUDMALL_PUBLIC_URL=f"http://127.0.0.1:{port}",
            CLOUDMALL_MAIL_POLL_SECONDS="0.2",
        )
        server = start_server(env, tmp_path, port=port)
        try:
            yield MailedShop(server, mail, tmp_path)
        finally:
            stop_server(server)


def sign_up(shop: MailedShop, language: str) -> str:
    email = f"reset-{language}-{secrets.token_hex(4)}@example.com"
    answer = httpx.post(
        f"{shop.server.url}/api/auth/signup",
        json={
            "email": email,
            "password": OLD_PASSWORD,
            "name": "Kim",
            "language": language,
            "consent": CONSENT,
        },
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return email


def logged(shop: MailedShop, line: str, timeout: float = 10) -> str:
    """The server's log once it has `line` (written right after the mail server's answer)."""
    deadline = time.monotonic() + timeout
    while line not in (log := shop.server.log()):
        assert time.monotonic() < deadline, f"{line!r} not logged:\n{log}"
        time.sleep(0.1)
    return log


def log_in_status(shop: MailedShop, email: str, password: str) -> int:
    answer = httpx.post(
        f"{shop.server.url}/api/auth/login", json={"email": email, "password": password}
    )
    return answer.status_code


@pytest.mark.parametrize("language", ["ko", "en"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_a_forgotten_password_is_reset_through_the_mailed_link(
    mailed_shop: MailedShop,
    new_page: PageFactory,
    guard: ConsoleGuard,
    language: str,
    viewport: dict[str, int],
) -> None:
    guard.allow_status(422)  # the used link's answer, shown in words
    words = WORDS[language]
    email = sign_up(mailed_shop, language)
    page = new_page(viewport)
    page.goto(f"{mailed_shop.server.url}/#/login")
    page.evaluate(f"localStorage.setItem('cloudmall.lang', '{language}')")
    page.reload()  # the storefront reads its language when it loads
    page.get_by_role("link", name=words["forgot"]).click()
    page.get_by_label(words["email"]).fill(email)
    page.get_by_role("main").get_by_role("button", name=words["send"]).click()
    expect(page.locator("#reset-sent")).to_contain_text(words["sent"])
    screenshot(page, f"reset-requested-{language}-{viewport['width']}")

    welcome, reset = mailed_shop.mail.received.wait_for(email, count=2)
    assert (welcome["Subject"], reset["Subject"]) == (words["welcome"], words["subject"])
    body = reset.get_content()
    (link,) = LINK.findall(body)
    assert link.startswith(mailed_shop.server.url)
    log = logged(mailed_shop, f"mail to {email}: {words['subject']}")  # one line per mail ...
    assert link.split("token=")[1] not in log  # ... and never the link's token

    page.goto(link)
    page.get_by_label(words["new"]).fill(NEW_PASSWORD)
    page.get_by_role("main").get_by_role("button", name=words["change"]).click()
    expect(page.locator("#toast")).to_contain_text(words["done"])
    expect(page.get_by_role("button", name=words["logout"])).to_be_visible()
    screenshot(page, f"reset-done-{language}-{viewport['width']}")
    assert log_in_status(mailed_shop, email, NEW_PASSWORD) == 200
    assert log_in_status(mailed_shop, email, OLD_PASSWORD) == 401

    page.goto(link)  # the link works once
    page.get_by_label(words["new"]).fill("and yet another one 3")
    page.get_by_role("main").get_by_role("button", name=words["change"]).click()
    expect(page.get_by_role("alert")).to_contain_text(words["used"])
    screenshot(page, f"reset-used-{language}-{viewport['width']}")
    assert log_in_status(mailed_shop, email, NEW_PASSWORD) == 200


def test_a_one_time_staff_password_must_be_changed_at_the_first_log_in(
    mailed_shop: MailedShop, page: Page, guard: ConsoleGuard
) -> None:
    email = f"new-staff-{secrets.token_hex(4)}@example.com"
    made = cli(mailed_shop.server.env, mailed_shop.tmp_path, "admin", "create", email)
    assert made.returncode == 0, made.stderr
    (one_time,) = re.findall(r"one-time password .*: (\S+)", made.stdout)

    page.goto(f"{mailed_shop.server.url}/#/login")
    page.get_by_label("이메일").fill(email)
    page.get_by_label("비밀번호", exact=True).fill(one_time)
    page.get_by_role("main").get_by_role("button", name="로그인").click()
    expect(page.get_by_role("heading", name="비밀번호 변경", level=1)).to_be_visible()
    expect(page.locator(".form-intro")).to_contain_text("임시 비밀번호")
    screenshot(page, "first-log-in-change-password")
    page.get_by_label("현재 비밀번호").fill(one_time)
    page.get_by_label("새 비밀번호").fill("the staff's own passphrase")
    page.get_by_role("main").get_by_role("button", name="비밀번호 변경").click()
    expect(page.locator("#toast")).to_contain_text("비밀번호를 바꿨습니다")
    page.get_by_role("navigation", name="주요 메뉴").get_by_role("link", name="관리자").click()
    expect(page.locator("#stat-orders")).to_be_visible()
