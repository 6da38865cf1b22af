"""One Stack per pattern of the guide, and the account's security baseline."""

from cloudmall_infra.stacks.container_shop import ContainerShopStack
from cloudmall_infra.stacks.microservices_shop import MicroservicesShopStack
from cloudmall_infra.stacks.security_baseline import SecurityBaselineStack
from cloudmall_infra.stacks.serverless_shop import ServerlessShopStack
from cloudmall_infra.stacks.shop_pipeline import ShopPipelineStack
from cloudmall_infra.stacks.shopping_mall import ShoppingMallStack
from cloudmall_infra.stacks.single_server import SingleServerStack

__all__ = [
    "ContainerShopStack",
    "MicroservicesShopStack",
    "SecurityBaselineStack",
    "ServerlessShopStack",
    "ShopPipelineStack",
    "ShoppingMallStack",
    "SingleServerStack",
]
