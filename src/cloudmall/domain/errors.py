"""The domain's error hierarchy; the web layer maps each class to one HTTP status.

CloudmallError
├── InvalidInput            a request that breaks a rule of the shop (400/422)
│   ├── PasswordRejected    a new password the password policy refuses (422)
│   ├── ConsentRequired     a sign-up without the required agreements (422)
│   ├── ResetLinkInvalid    a password-reset link that is forged (422)
│   │   ├── ResetLinkExpired
│   │   └── ResetLinkUsed
│   └── AddressRequired     paying or shipping an order whose address is pending (422)
├── NotFound                no such thing, or not yours to see (404)
├── AuthenticationFailed    unknown credentials or a bad token (401)
├── PermissionDenied        signed in, but not allowed (403)
│   └── PasswordChangeRequired  an initial password not changed yet (403)
├── Conflict                the request collides with the current state (409)
│   ├── OutOfStock
│   ├── TotalMismatch
│   ├── OrderLimitExceeded
│   ├── InvalidTransition
│   ├── EmailTaken
│   ├── IdempotencyKeyReused
│   ├── PaymentInProgress
│   ├── PaymentRefunded     the order was cancelled and the charge refunded while paying
│   ├── CategoryExists
│   └── CategoryNotEmpty
├── PaymentDeclined         the gateway said no (402)
├── UnsupportedMedia        an upload that is not an accepted image (415)
├── PayloadTooLarge         an upload over the size or pixel cap (413)
├── RateLimited             too many attempts (429)
└── DependencyUnavailable   a tier we depend on is down (503)
"""

from __future__ import annotations

from decimal import Decimal


class CloudmallError(Exception):
    """Base of every error the shop raises on purpose; `code` is stable for clients."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(CloudmallError):
    """A rule of the shop broken; `field` and `reason` (stable words, e.g. "price",
    "not_above_price") let the storefront say which, in the shopper's language."""

    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None, reason: str | None = None):
        super().__init__(message)
        self.field = field
        self.reason = reason


class PasswordRejected(InvalidInput):
    """A new password the policy refuses; `reason` says which rule, for a message per language."""

    code = "password_rejected"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, field="password", reason=reason)


class ConsentRequired(InvalidInput):
    """A sign-up that did not agree to every required document; `missing` names them."""

    code = "consent_required"

    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"Agree to the required documents first: {', '.join(missing)}")
        self.missing = missing


class ResetLinkInvalid(InvalidInput):
    """A password-reset token that cannot be used; `code` says why, for a message per language."""

    code = "reset_link_invalid"  # forged or garbled


class ResetLinkExpired(ResetLinkInvalid):
    code = "reset_link_expired"


class ResetLinkUsed(ResetLinkInvalid):
    """The password changed since the link was sent (by this link or otherwise)."""

    code = "reset_link_used"


class NotFound(CloudmallError):
    code = "not_found"


class AuthenticationFailed(CloudmallError):
    code = "authentication_failed"


class PermissionDenied(CloudmallError):
    code = "permission_denied"


class PasswordChangeRequired(PermissionDenied):
    """The account still has the initial password the shop printed: only changing it is allowed."""

    code = "password_change_required"


class Conflict(CloudmallError):
    code = "conflict"


class OutOfStock(Conflict):
    code = "out_of_stock"

    def __init__(self, product_id: int, product_name: str, available: int) -> None:
        super().__init__(f"Not enough stock for {product_name!r}: {available} left")
        self.product_id = product_id
        self.available = available


class TotalMismatch(Conflict):
    code = "total_mismatch"

    def __init__(self, sent: Decimal, current: Decimal) -> None:
        super().__init__(f"The total has changed: it is now {current}, not {sent}")
        self.sent = sent
        self.current = current


class OrderLimitExceeded(Conflict):
    """Over one of the shop's per-order limits: different products, units of one product (its
    entries summed), or the total at today's prices. A conflict, not invalid input: the request
    is well formed, and it is the shop's settings, prices or the entries together that refuse it."""

    code = "order_limit"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class EmailTaken(Conflict):
    code = "email_taken"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"


class PaymentInProgress(Conflict):
    code = "payment_in_progress"


class PaymentRefunded(Conflict):
    """The order was cancelled while it was being paid: the charge was given back."""

    code = "payment_refunded"


class CategoryExists(Conflict):
    code = "category_exists"


class CategoryNotEmpty(Conflict):
    """Only a category without products on sale can be deleted."""

    code = "category_not_empty"


class PaymentDeclined(CloudmallError):
    code = "payment_declined"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The card was declined: {reason}")
        self.reason = reason


class UnsupportedMedia(CloudmallError):
    code = "unsupported_media"


class PayloadTooLarge(CloudmallError):
    code = "payload_too_large"


class RateLimited(CloudmallError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DependencyUnavailable(CloudmallError):
    code = "dependency_unavailable"


class AddressRequired(InvalidInput):
    """An order without a delivery address cannot be paid or shipped."""

    code = "address_required"
