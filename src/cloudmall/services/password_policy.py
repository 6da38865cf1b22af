"""What makes a new password acceptable, after NIST SP 800-63B (5.1.1.2) and OWASP ASVS V6.

Length is counted after Unicode NFKC normalisation; there are no composition rules (no "one
digit, one symbol"). A password is refused when it is too short or absurdly long, only
whitespace, or easy to guess: zxcvbn (Dropbox's estimator, which ships the most common breached
passwords, English words and names, and spots repeats, sequences, keyboard walks and dates)
estimates fewer than MIN_GUESSES guesses, counting the account's email and the shop's name as
known to the attacker. Every refusal is one error code, `password_rejected`, with a `reason` the
storefront words in the shopper's language.
"""

from __future__ import annotations

import re
import unicodedata

from cloudmall.domain.errors import PasswordRejected

MIN_LENGTH = 8
MAX_LENGTH = 1024  # long passphrases welcome; the cap only bounds hashing work
#: zxcvbn's own bound on input length (its matching is quadratic); the rest only adds strength.
ESTIMATED_PREFIX = 72
#: 10^5: beyond the top breached-password lists, and far beyond what log-in throttling lets an
#: online attacker try (docs/reliability.md).
MIN_GUESSES_LOG10 = 5.0
SHOP_NAMES = ("cloudmall", "클라우드몰")

REASONS = {
    "too_short": f"Passwords must be at least {MIN_LENGTH} characters",
    "too_long": f"Passwords must be at most {MAX_LENGTH} characters",
    "only_spaces": "A password cannot be only spaces",
    "personal": "A password cannot be your email or the shop's name",
    "too_common": "This password is too easy to guess: it is common, or a simple pattern",
}


def normalize_password(password: str) -> str:
    """The form that is measured and hashed: NFKC, so one typed text always means one password."""
    return unicodedata.normalize("NFKC", password)


def check_password(password: str, *, email: str) -> None:
    """Raise PasswordRejected (code `password_rejected`, details.reason) unless acceptable."""
    reason = rejection_reason(normalize_password(password), email=email)
    if reason is not None:
        raise PasswordRejected(REASONS[reason], reason=reason)


def rejection_reason(password: str, *, email: str) -> str | None:
    """The first rule `password` (already normalised) breaks, as a REASONS key; None if none."""
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    if not password.strip():
        return "only_spaces"
    known = _known_to_attackers(email)
    if password.casefold() in known:
        return "personal"
    # Imported on first use: its dictionaries cost the cold start of functions that never
    # check a new password (catalogue, orders).
    from zxcvbn import zxcvbn

    estimate = zxcvbn(password[:ESTIMATED_PREFIX], user_inputs=sorted(known))
    if float(estimate["guesses_log10"]) < MIN_GUESSES_LOG10:
        return "too_common"
    return None


def _known_to_attackers(email: str) -> set[str]:
    address = normalize_password(email).strip().casefold()
    local_part = address.partition("@")[0]
    pieces = re.split(r"[\W_]+", local_part)  # "jane.doe" is also "jane", "doe" and "janedoe"
    return {word for word in (address, local_part, "".join(pieces), *pieces, *SHOP_NAMES) if word}
