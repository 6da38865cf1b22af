"""One Stack per pattern of the guide."""

from cloudmall_infra.stacks.serverless_shop import ServerlessShopStack
from cloudmall_infra.stacks.shopping_mall import ShoppingMallStack
from cloudmall_infra.stacks.single_server import SingleServerStack

__all__ = ["ServerlessShopStack", "ShoppingMallStack", "SingleServerStack"]
