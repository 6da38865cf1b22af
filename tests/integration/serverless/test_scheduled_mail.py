"""The mail function (`cloudmall.serverless.scheduled.send_mail`): once per scheduled invocation
it sends the outbox's waiting mail through the SMTP server whose URL it read from Secrets
Manager at init, as `cloudmall mail send` would."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from cloudmall.bootstrap import migrate
from cloudmall.serverless import scheduled
from cloudmall.serverless.settings import SMTP_URL_ARN_VARIABLE, function_settings
from cloudmall.services.ports import MailUnavailable
from tests.integration.serverless.conftest import MakeFunction, function_environment
from tests.integration.serverless.events import event, invoke
from tests.mail_server import MailServer, mail_server

LOGIN = ("mailer", "a mail password")
# What EventBridge sends a scheduled function (the handler reads none of it).
SCHEDULED = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


@pytest.fixture
def smtp() -> Iterator[MailServer]:
    with mail_server(login=LOGIN) as server:
        yield server


@pytest.fixture
def mail_environment(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: MailServer
) -> Iterator[None]:
    """The mail function's environment as the stack sets it: the SMTP URL only in a secret."""
    for name, value in {
        **function_environment(database_url, tmp_path),
        "CLOUDMALL_OUTBOX_CONSUMERS": "mail",
        "AWS_DEFAULT_REGION": "ap-northeast-2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CLOUDMALL_SMTP_URL", raising=False)
    with mock_aws():
        arn = boto3.client("secretsmanager").create_secret(
            Name="smtp-url", SecretString=smtp.url(f"{LOGIN[0]}:{LOGIN[1].replace(' ', '%20')}")
        )["ARN"]
        monkeypatch.setenv(SMTP_URL_ARN_VARIABLE, arn)
        yield


def sign_up(make_function: MakeFunction, email: str) -> None:
    accounts = make_function("accounts", outbox_consumers=["mail"])
    answer = invoke(
        accounts,
        event(
            "POST",
            "/api/auth/signup",
            body={
                "email": email,
                "password": "a long enough passphrase",
                "name": "Kim",
                "consent": {"privacy": True, "terms": True},
            },
        ),
    )
    assert answer["statusCode"] == 201, answer


def test_a_scheduled_invocation_sends_the_waiting_mail_once(
    make_function: MakeFunction, mail_environment: None, smtp: MailServer
) -> None:
    sign_up(make_function, "kim@example.com")
    mailer = scheduled.MailFunction(function_settings())
    try:
        assert mailer(SCHEDULED, None) == {"sent": 1, "batches": 1}
        [welcome] = smtp.received.wait_for("kim@example.com")
        assert welcome["From"] and welcome["Subject"]
        assert mailer(SCHEDULED, None) == {"sent": 0, "batches": 0}  # nothing twice
    finally:
        mailer.loop.run_until_complete(mailer.shop.aclose())
        mailer.loop.close()
    assert len(smtp.received.to("kim@example.com")) == 1


def test_a_failing_server_fails_the_invocation_and_the_mail_waits(
    make_function: MakeFunction, mail_environment: None, smtp: MailServer
) -> None:
    sign_up(make_function, "lee@example.com")
    mailer = scheduled.MailFunction(function_settings())
    try:
        smtp.received.refusing = True
        with pytest.raises(MailUnavailable):  # Lambda counts an error: the alarm's metric
            mailer(SCHEDULED, None)
        smtp.received.refusing = False
        assert mailer(SCHEDULED, None)["sent"] == 1  # the next minute's run
    finally:
        mailer.loop.run_until_complete(mailer.shop.aclose())
        mailer.loop.close()
    assert len(smtp.received.to("lee@example.com")) == 1


def test_the_handler_is_built_on_first_access(
    make_function: MakeFunction, mail_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name the stack gives Lambda: `cloudmall.serverless.scheduled.send_mail`."""
    make_function()  # the migrated database
    monkeypatch.delitem(scheduled.__dict__, "send_mail", raising=False)
    handler = scheduled.send_mail
    try:
        assert isinstance(handler, scheduled.MailFunction)
        assert scheduled.send_mail is handler  # once per container
        assert handler.shop.tiers["mailer"] is not None
    finally:
        handler.loop.run_until_complete(handler.shop.aclose())
        handler.loop.close()
        monkeypatch.delitem(scheduled.__dict__, "send_mail")


def test_outside_the_function_runtime_it_refuses_to_start(
    mail_environment: None, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    asyncio.run(migrate(function_settings()))
    monkeypatch.setenv("CLOUDMALL_RUNTIME", "server")
    with pytest.raises(ValueError, match="CLOUDMALL_RUNTIME=function"):
        scheduled.MailFunction(function_settings())
