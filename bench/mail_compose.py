"""Micro-benchmark of one order-confirmation mail (issue #24): µs per mail, the EmailMessage
composer it replaced and adapters.mail.message's writer, in alternating rounds of one run;
each alone (composing) and with its .eml file written as each FolderMailSender wrote / writes
it (in the calling thread: the thread hop is the same for both).

    python -m bench.mail_compose [--mails 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from cloudmall.adapters.mail.files import FolderMailSender
from cloudmall.adapters.mail.message import MessageWriter
from cloudmall.services.mail_texts import MailTexts
from cloudmall.services.ports import Mail

SENDER = "cloudmall <no-reply@cloudmall.example>"


def order_mail(number: int) -> Mail:
    texts = MailTexts(public_url="https://shop.example.com", currency="KRW")
    lines = [
        {"product_name": "무선 키보드", "quantity": 2, "unit_price": "25800"},
        {"product_name": "USB-C 케이블 1m", "quantity": 1, "unit_price": "9900"},
    ]
    subject, text = texts.order_placed(
        "ko", name="김민수", order_id=number, amount="61500", lines=lines
    )
    return Mail("kim@example.com", subject, text, f"0b7e4f1a-5d2c-4c1e-9a57-{number:012d}")


def old_bytes(mail: Mail) -> bytes:
    """The composer before issue #24 (adapters/mail/message.py then)."""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(idstring=mail.message_id, domain="cloudmall")
    message.set_content(mail.text, charset="utf-8")
    return message.as_bytes()


def old_file(folder: Path, name: str, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.partial"
    partial.touch(mode=0o600)
    partial.write_bytes(data)
    os.replace(partial, folder / f"{name}.eml")


def timed(work: Callable[[Mail], object], mails: list[Mail]) -> float:
    """µs per mail."""
    start = time.perf_counter()
    for mail in mails:
        work(mail)
    return (time.perf_counter() - start) / len(mails) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    mails = [order_mail(number) for number in range(args.mails)]
    writer = MessageWriter(SENDER)
    with tempfile.TemporaryDirectory() as scratch:
        old_dir = Path(scratch, "old")
        folder = FolderMailSender(Path(scratch, "new"), sender=SENDER)
        cases: dict[str, Callable[[Mail], object]] = {
            "compose, old": old_bytes,
            "compose, new": writer.write,
            "compose + file, old": lambda m: old_file(old_dir, m.message_id, old_bytes(m)),
            "compose + file, new": lambda m: folder._write(m.message_id, writer.write(m)),
        }
        figures: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, work in cases.items():
                figures[name].append(timed(work, mails))
    medians = {name: statistics.median(values) for name, values in figures.items()}
    print(f"| {args.mails} mails × {args.rounds} rounds | µs per mail (median) | old / new |")
    print("|---|---:|---:|")
    for name, median in medians.items():
        old = medians[name.replace(", new", ", old")]
        print(f"| {name} | {median:.1f} | {old / median:.2f}× |")


if __name__ == "__main__":
    main()
