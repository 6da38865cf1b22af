"""Each process's settings: plain values in the pod spec, everything else (credentials, and the
host and bucket names of one deployment) in a Secret that External Secrets Operator writes from
AWS Secrets Manager. No value of a secret is ever in a manifest."""

from __future__ import annotations

from dataclasses import dataclass

from cloudmall_infra.k8s.contract import (
    BY_NAME,
    PORT,
    REDIS_PORT,
    SHARED_SECRETS,
    Service,
    database_secret,
)

# The RDS CA bundle, from a ConfigMap the deployment steps create (docs/deploy-aws.md): the
# database URL names it, so asyncmy verifies the server's certificate and host name.
RDS_CA_DIR = "/etc/cloudmall"
RDS_CA_FILE = f"{RDS_CA_DIR}/rds-ca.pem"
RDS_CA_CONFIG_MAP = "rds-ca"
VAR_DIR = "/var/lib/cloudmall"
# Redis: logical database 0 is the cache, 1 the broker's streams (one ElastiCache group).
CACHE_DB = 0
BROKER_DB = 1


@dataclass(frozen=True)
class Deployment:
    """What one deployment's manifests name: the region and the image (one tag per service, so
    each service rolls forward and back on its own)."""

    region: str
    image_repository: str
    versions: dict[str, str]
    host: str
    certificate_arn: str
    web_acl_arn: str
    access_logs_bucket: str
    environment: str = "production"

    def image(self, service: str) -> str:
        return f"{self.image_repository}:{self.versions[service]}"


def plain_environment(service: Service, deployment: Deployment) -> dict[str, str]:
    """The settings that are neither secret nor particular to one AWS deployment's resources."""
    environment = {
        "CLOUDMALL_ENVIRONMENT": deployment.environment,
        "CLOUDMALL_RUNTIME": "service",
        "CLOUDMALL_SERVICE": service.name,
        "CLOUDMALL_HOST": "0.0.0.0",  # noqa: S104 - in a pod; the network policies say who reaches it
        "CLOUDMALL_PORT": str(PORT),
        "CLOUDMALL_WORKERS": "1",  # one process per pod: the autoscaler adds pods
        "CLOUDMALL_TOKEN_ALGORITHM": "EdDSA",
        "CLOUDMALL_ALLOWED_HOSTS": deployment.host,
        "CLOUDMALL_PUBLIC_URL": f"https://{deployment.host}",
        "OTEL_SERVICE_NAME": f"cloudmall-{service.name}",
    }
    for peer in service.calls:
        environment[f"CLOUDMALL_{peer.upper()}_URL"] = BY_NAME[peer].url
    return environment


def secret_templates(service: Service, deployment: Deployment) -> dict[str, str]:
    """The Secret's keys (environment variables) as External Secrets templates over the remote
    secrets of :func:`remote_secrets` (each one's JSON keys under its own prefix)."""
    templates = {
        "CLOUDMALL_DATABASE_URL": (
            "mysql+asyncmy://{{ .db_host }}:{{ .db_port }}/{{ .db_dbname }}"
            f"?ssl_ca={RDS_CA_FILE}"
        ),
        "CLOUDMALL_DATABASE_USERNAME": "{{ .db_username }}",
        "CLOUDMALL_DATABASE_PASSWORD": "{{ .db_password }}",
        "CLOUDMALL_CACHE_URL": f"rediss://{{{{ .endpoints_cache_host }}}}:{REDIS_PORT}/{CACHE_DB}",
        "CLOUDMALL_CACHE_PASSWORD": "{{ .cache }}",
        "CLOUDMALL_BROKER_URL": (
            "rediss://:{{ .cache | urlquery }}@{{ .endpoints_cache_host }}"
            f":{REDIS_PORT}/{BROKER_DB}"
        ),
        "CLOUDMALL_SECRET_KEY": "{{ .secret_key }}",
        "CLOUDMALL_INTERNAL_SECRET": "{{ .internal_secret }}",
        "CLOUDMALL_LAKE_URL": f"s3://{{{{ .endpoints_lake_bucket }}}}?region={deployment.region}",
    }
    # the issuer's private key, or the public keys of a service that only verifies tokens
    key = "token_signing_key" if service.signs_tokens else "token_verify_keys"
    templates[f"CLOUDMALL_{key.upper()}"] = f"{{{{ .{key} }}}}"
    if service.media:
        templates["CLOUDMALL_STORAGE_URL"] = (
            f"s3://{{{{ .endpoints_media_bucket }}}}?region={deployment.region}"
        )
    return templates


def remote_secrets(service: Service) -> dict[str, str]:
    """Template prefix → Secrets Manager name. A JSON secret's keys become ``<prefix>_<key>``;
    a plain one is ``<prefix>``."""
    found = {
        "db": database_secret(service.name),
        "cache": SHARED_SECRETS["cache"],
        "endpoints": SHARED_SECRETS["endpoints"],
        "secret_key": SHARED_SECRETS["secret_key"],
        "internal_secret": SHARED_SECRETS["internal_secret"],
    }
    key = "token_signing_key" if service.signs_tokens else "token_verify_keys"
    found[key] = SHARED_SECRETS[key]
    return found


#: Remote secrets that are JSON objects (their keys are extracted under the prefix).
JSON_SECRETS = ("db", "endpoints")
