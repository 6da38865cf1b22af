"""The DynamoDB unit of work: the repositories over one transaction of the table."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from cloudmall.adapters.dynamodb.address_repository import DynamoAddressRepository
from cloudmall.adapters.dynamodb.category_repository import DynamoCategoryRepository
from cloudmall.adapters.dynamodb.client import DynamoClient
from cloudmall.adapters.dynamodb.consent_repository import DynamoConsentRepository
from cloudmall.adapters.dynamodb.idempotency_repository import DynamoIdempotencyRepository
from cloudmall.adapters.dynamodb.inbox import NoInbox
from cloudmall.adapters.dynamodb.mail_repository import DynamoMailDeliveries
from cloudmall.adapters.dynamodb.order_repository import DynamoOrderRepository
from cloudmall.adapters.dynamodb.outbox import DynamoOutbox
from cloudmall.adapters.dynamodb.payment_repository import DynamoPaymentRepository
from cloudmall.adapters.dynamodb.product_repository import DynamoProductRepository
from cloudmall.adapters.dynamodb.refresh_token_repository import DynamoRefreshTokenRepository
from cloudmall.adapters.dynamodb.reservation_repository import DynamoReservationRepository
from cloudmall.adapters.dynamodb.transaction import DynamoTransaction
from cloudmall.adapters.dynamodb.user_repository import DynamoUserRepository
from cloudmall.services.ports import (
    NO_TRACER,
    AddressRepository,
    CategoryRepository,
    ConsentRepository,
    IdempotencyRepository,
    Inbox,
    MailDeliveries,
    OrderRepository,
    Outbox,
    PaymentRepository,
    ProductRepository,
    RefreshTokenRepository,
    ReservationRepository,
    Tracer,
    UserRepository,
)


class DynamoUnitOfWork:
    """Reads go to the table as they are asked (consistent reads); writes wait in the
    transaction and go together, as one TransactWriteItems, at commit. Leaving without a commit
    sends nothing: there is nothing to roll back."""

    products: ProductRepository
    categories: CategoryRepository
    users: UserRepository
    orders: OrderRepository
    payments: PaymentRepository
    addresses: AddressRepository
    idempotency: IdempotencyRepository
    outbox: Outbox
    refresh_tokens: RefreshTokenRepository
    consents: ConsentRepository
    mail: MailDeliveries
    inbox: Inbox
    reservations: ReservationRepository

    def __init__(self, client: DynamoClient, tracer: Tracer = NO_TRACER) -> None:
        self._client = client
        self._tracer = tracer
        self._tx: DynamoTransaction | None = None

    async def __aenter__(self) -> Self:
        tx = self._tx = DynamoTransaction(self._client)
        self.products = DynamoProductRepository(tx)
        self.categories = DynamoCategoryRepository(tx)
        self.addresses = DynamoAddressRepository(tx)
        self.users = DynamoUserRepository(tx)
        self.orders = DynamoOrderRepository(tx)
        self.payments = DynamoPaymentRepository(tx)
        self.idempotency = DynamoIdempotencyRepository(tx)
        self.outbox = DynamoOutbox(tx, self._tracer)
        self.refresh_tokens = DynamoRefreshTokenRepository(tx)
        self.consents = DynamoConsentRepository(tx)
        self.mail = DynamoMailDeliveries(tx)
        self.inbox = NoInbox()
        self.reservations = DynamoReservationRepository(tx)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._tx = None  # its unsent writes with it

    async def commit(self) -> None:
        assert self._tx is not None
        await self._tx.commit()


class DynamoUnitOfWorkFactory:
    """Units of work on `client`'s table; their outbox stamps events with `tracer`'s trace
    context."""

    def __init__(self, client: DynamoClient, *, tracer: Tracer = NO_TRACER) -> None:
        self.client = client
        self._tracer = tracer

    def __call__(self, *, write: bool = False) -> DynamoUnitOfWork:
        """(`write` takes no lock here: DynamoDB's conditions guard each write at commit.)"""
        return DynamoUnitOfWork(self.client, self._tracer)
