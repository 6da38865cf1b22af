"""One Stack per pattern of the guide, and the account's security baseline."""

from cloudmall_infra.stacks.security_baseline import SecurityBaselineStack
from cloudmall_infra.stacks.serverless_shop import ServerlessShopStack
from cloudmall_infra.stacks.shopping_mall import ShoppingMallStack
from cloudmall_infra.stacks.single_server import SingleServerStack

__all__ = [
    "SecurityBaselineStack",
    "ServerlessShopStack",
    "ShoppingMallStack",
    "SingleServerStack",
]
