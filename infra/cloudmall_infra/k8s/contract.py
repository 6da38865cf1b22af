"""What the EKS stack and the manifests agree on: the services, their paths and peers, the
namespace, the service accounts Pod Identity binds, the Secrets Manager names, the subnets."""

from __future__ import annotations

from dataclasses import dataclass

from cloudmall.web.service_routes import STOREFRONT

NAMESPACE = "cloudmall"
PORT = 8000
IMAGE_UID = 10001  # the Dockerfile's non-root user
KUBERNETES_VERSION = "1.35"  # the cluster's (stacks/microservices_shop.py) and the schemas'
# The AWS Load Balancer Controller's and External Secrets Operator's namespaces (add-ons).
LOAD_BALANCER_CONTROLLER_NAMESPACE = "kube-system"
EXTERNAL_SECRETS_NAMESPACE = "external-secrets"
EXTERNAL_SECRETS_SERVICE_ACCOUNT = "external-secrets"

# The VPC's layout, fixed so the network policies can name the load balancer's and the data
# tier's subnets (10.20.0.0/16; what CDK allocates for /24 public, /22 app, /24 data in 2 zones;
# tests/infra/test_microservices_shop.py checks the template against these).
VPC_CIDR = "10.20.0.0/16"
PUBLIC_SUBNET_CIDRS = ("10.20.0.0/24", "10.20.1.0/24")
APP_SUBNET_CIDRS = ("10.20.4.0/22", "10.20.8.0/22")
DATA_SUBNET_CIDRS = ("10.20.12.0/24", "10.20.13.0/24")
MYSQL_PORT = 3306
REDIS_PORT = 6379
# EKS Pod Identity's agent, on every node: where a pod's AWS SDK gets its credentials.
POD_IDENTITY_AGENT = "169.254.170.23/32"

# Secrets Manager names (the stack makes them; External Secrets reads them). One prefix, so the
# operator's role is allowed exactly these.
SECRET_PREFIX = "cloudmall/eks/"  # noqa: S105 - a name, not a secret
SHARED_SECRETS = {
    "secret_key": f"{SECRET_PREFIX}secret-key",
    "internal_secret": f"{SECRET_PREFIX}internal-secret",
    "token_signing_key": f"{SECRET_PREFIX}token-signing-key",
    "token_verify_keys": f"{SECRET_PREFIX}token-verify-keys",
    "cache": f"{SECRET_PREFIX}cache",
    # Not secret, but kept with the rest so nothing about one deployment is in a manifest:
    # the cache's host name and the buckets' names.
    "endpoints": f"{SECRET_PREFIX}endpoints",
}
LAKE_SERVICE_ACCOUNT = "lake-export"


def database_secret(service: str) -> str:
    """The service's own database credentials (RDS-generated: username, password, host, ...)."""
    return f"{SECRET_PREFIX}{service}/database"


@dataclass(frozen=True)
class Service:
    """One context of the services topology (docs/microservices.md)."""

    name: str
    # The services whose internal routes (/internal/v1/...) this one calls
    calls: tuple[str, ...] = ()
    # S3: the media bucket (its pods get a Pod Identity association)
    media: bool = False
    # Issues tokens (the Ed25519 private key); the others only verify them
    signs_tokens: bool = False

    @property
    def service_account(self) -> str:
        return self.name

    @property
    def url(self) -> str:
        return f"http://{self.name}.{NAMESPACE}.svc.cluster.local"


# Their public paths are the services' route table's (cloudmall.web.service_routes), turned into
# the ALB's rules by alb_paths.py.
USERS = Service("users", signs_tokens=True)
PRODUCTS = Service("products", media=True)
ORDERS = Service("orders", calls=("users", "products", "payments"))
PAYMENTS = Service("payments", calls=("orders",))
SERVICES = (USERS, PRODUCTS, ORDERS, PAYMENTS)
BY_NAME = {service.name: service for service in SERVICES}
# Where nothing else matches: the storefront's files (/, /static/...), from the same service as
# behind the local gateway.
DEFAULT_SERVICE = BY_NAME[STOREFRONT.value]
# Never routed by the ALB: the contexts' calls to each other, and the processes' metrics.
NOT_PUBLIC = ("/internal", "/metrics", "/livez", "/readyz")


def callers(service: str) -> tuple[str, ...]:
    """The services that call ``service``'s internal routes."""
    return tuple(other.name for other in SERVICES if service in other.calls)
