"""The app's settings as the instances read them at boot: SSM parameters and Secrets Manager.

Nothing secret is in a template or in user data: user data carries only parameter names and
secret ARNs, and the boot script (``assets/render_env.py``) fetches the values with the
instance role and writes ``/etc/cloudmall/cloudmall.env`` (mode 0600).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from cloudmall_infra.nag import acknowledge


@dataclass(frozen=True)
class UrlCredentials:
    """Put the user and password of a secret into the URL held by an env var.

    ``json_secret``: the secret is RDS-style JSON with ``username`` and ``password``; otherwise
    the whole secret string is a password (Redis AUTH).
    """

    secret: secretsmanager.ISecret
    json_secret: bool


class AppSettings(Construct):
    """``CLOUDMALL_*`` settings: plain ones as SSM String parameters under
    ``/cloudmall/<environment>/``, the session/signing key as a generated secret, and
    credentials that the boot script splices into the database and cache URLs.
    """

    def __init__(self, scope: Construct, construct_id: str, *, environment: str) -> None:
        super().__init__(scope, construct_id)
        self.environment = environment
        self.prefix = f"/cloudmall/{Stack.of(self).stack_name.lower()}/{environment}"
        self.parameters: dict[str, ssm.StringParameter] = {}
        self.secrets: dict[str, secretsmanager.ISecret] = {}
        self.url_credentials: dict[str, UrlCredentials] = {}
        self.secret_key = secretsmanager.Secret(
            self,
            "SecretKey",
            description="cloudmall CLOUDMALL_SECRET_KEY (session and token signing)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=64
            ),
        )
        acknowledge(
            self.secret_key,
            "AwsSolutions-SMG4",
            "Rotating the signing key logs every customer out and invalidates issued tokens, "
            "and running instances read it only at boot; it is rotated deliberately by an "
            "operator (new secret value, then an instance refresh), see docs/deploy-aws.md.",
        )
        self.add_secret("CLOUDMALL_SECRET_KEY", self.secret_key)
        # Access tokens signed with that key until an Ed25519 pair is deployed (docs/security.md)
        self.add_parameter("CLOUDMALL_TOKEN_ALGORITHM", "HS256")
        self.add_parameter("CLOUDMALL_ENVIRONMENT", environment)

    def add_parameter(self, env_var: str, value: str) -> ssm.StringParameter:
        name = env_var.removeprefix("CLOUDMALL_").lower().replace("_", "-")
        parameter = ssm.StringParameter(
            self,
            f"Param-{name}",
            parameter_name=f"{self.prefix}/{name}",
            string_value=value,
            description=f"cloudmall {env_var}",
        )
        self.parameters[env_var] = parameter
        return parameter

    def add_secret(self, env_var: str, secret: secretsmanager.ISecret) -> None:
        self.secrets[env_var] = secret

    def add_url_credentials(
        self, env_var: str, secret: secretsmanager.ISecret, *, json_secret: bool
    ) -> None:
        if env_var not in self.parameters:
            raise KeyError(f"add the {env_var} parameter (a URL without credentials) first")
        self.url_credentials[env_var] = UrlCredentials(secret, json_secret)

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Exactly these parameters and secrets, nothing else under the path."""
        for parameter in self.parameters.values():
            parameter.grant_read(grantee)
        for secret in self.all_secrets():
            secret.grant_read(grantee)

    def all_secrets(self) -> list[secretsmanager.ISecret]:
        found = list(self.secrets.values())
        found += [c.secret for c in self.url_credentials.values()]
        unique: dict[str, secretsmanager.ISecret] = {}
        for secret in found:
            unique[secret.node.path] = secret
        return list(unique.values())

    def boot_config(self, *, region: str, env_file: str) -> dict[str, object]:
        """What ``render_env.py`` reads: names and ARNs only (tokens until deploy time)."""
        return {
            "region": region,
            "env_file": env_file,
            "parameters": {k: p.parameter_name for k, p in self.parameters.items()},
            "secrets": {k: s.secret_arn for k, s in self.secrets.items()},
            "url_credentials": {
                k: {"secret_id": c.secret.secret_arn, "json": c.json_secret}
                for k, c in self.url_credentials.items()
            },
        }
