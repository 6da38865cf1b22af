"""The guide's 보안 체크리스트 as data: one row per item, the check that judges it, its exemptions.

A resource-level check judges each stack on its own resources; an account-level check judges
the whole set (the security baseline stack meets it for the account). An exemption accepts a
problem code for the stacks of one pattern, for the reason it states; it is printed every time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from cloudmall.audit import access, data, monitoring, network
from cloudmall.audit.model import Group, Outcome
from cloudmall.audit.stack import StackTemplate


@dataclass(frozen=True)
class Exemption:
    pattern: str
    """The ``pattern`` tag of the stacks it applies to (``single-server``...)."""
    code: str
    """The problem code it accepts (see the check's :class:`~cloudmall.audit.model.Problem`)."""
    reason: str


@dataclass(frozen=True)
class Rule:
    rule_id: str
    group: Group
    guide_item: str
    """The item as the guide's checklist names it."""
    title: str
    check: Callable[[StackTemplate], Outcome] | None = None
    account_check: Callable[[Sequence[StackTemplate]], Outcome] | None = None
    exemptions: tuple[Exemption, ...] = field(default=())

    @property
    def account_level(self) -> bool:
        return self.account_check is not None

    def exemption(self, pattern: str | None, code: str) -> Exemption | None:
        for exemption in self.exemptions:
            if exemption.pattern == pattern and exemption.code == code:
                return exemption
        return None


_PATTERN_1 = "single-server"
_PATTERN_1_WHY = (
    "the guide's pattern 1 (단일 서버, a short-lived event site) is one instance on a public "
    "address with no load balancer or private tier by design; anything that outlives the event "
    "belongs on the 3-tier ShoppingMall stack"
)

_SERVERLESS = "serverless"
_SERVERLESS_WAF_WHY = (
    "the guide's pattern 6 has CloudFront in front of an HTTP API, which takes no regional web "
    "ACL; a CloudFront-scope web ACL lives in us-east-1, a stack of its own not built yet "
    "(docs/serverless.md, known gaps). The API's stage throttling bounds the request rate"
)

_MICROSERVICES = "microservices"
_PUBLISHED_CONTROLLER_POLICY_WHY = (
    "the AWS Load Balancer Controller runs with the IAM policy AWS publishes for its version; "
    "the actions it leaves on '*' with no condition are those the controller needs for load "
    "balancers, listeners, rules and security groups whose names it makes at run time, and for "
    "attaching the web ACL or Shield protection an Ingress names. Every other '*' statement of "
    "that policy is scoped by the elbv2.k8s.aws/cluster tag (or to ELB's service-linked role); a "
    "narrower copy of our own would have to follow each controller release by hand "
    "(docs/security.md, the exemptions)"
)

CHECKLIST: tuple[Rule, ...] = (
    Rule(
        "private-subnets",
        Group.network,
        "VPC 프라이빗 서브넷 사용",
        "Instances, databases and caches in private subnets",
        check=network.private_subnets,
        exemptions=(Exemption(_PATTERN_1, "public-subnet", _PATTERN_1_WHY),),
    ),
    Rule(
        "security-groups",
        Group.network,
        "보안 그룹 최소 권한",
        "Security groups open only web ports to the internet, nothing else to everyone",
        check=network.security_groups,
    ),
    Rule(
        "waf",
        Group.network,
        "WAF 웹 방화벽 설정",
        "A WAF web ACL on every internet-facing load balancer, API and application CDN",
        check=network.waf,
        exemptions=(Exemption(_SERVERLESS, "no-waf", _SERVERLESS_WAF_WHY),),
    ),
    Rule(
        "iam-roles",
        Group.access,
        "IAM 역할 기반 접근",
        "Workloads use IAM roles: no IAM users or access keys in the stacks",
        check=access.iam_roles,
    ),
    Rule(
        "least-privilege",
        Group.access,
        "IAM 역할 기반 접근 (최소 권한)",
        "Policies like the guide's example: exact actions, named resources",
        check=access.least_privilege,
        exemptions=(
            Exemption(
                _MICROSERVICES,
                access.PUBLISHED_CONTROLLER_POLICY,
                _PUBLISHED_CONTROLLER_POLICY_WHY,
            ),
        ),
    ),
    Rule(
        "mfa",
        Group.access,
        "다단계 인증 활성화",
        "MFA on the root user and every console user (AWS Config)",
        account_check=access.mfa,
    ),
    Rule(
        "access-key-rotation",
        Group.access,
        "액세스 키 정기 교체",
        "Access keys rotated within 90 days (AWS Config)",
        account_check=access.access_key_rotation,
    ),
    Rule(
        "password-policy",
        Group.access,
        "다단계 인증 활성화 (콘솔 암호 정책)",
        "IAM account password policy set and watched (AWS Config)",
        account_check=access.password_policy,
    ),
    Rule(
        "encryption-at-rest",
        Group.data,
        "저장/전송 중 암호화 (저장 중)",
        "Buckets, databases, volumes, caches and topics encrypted at rest",
        check=data.encryption_at_rest,
    ),
    Rule(
        "encryption-in-transit",
        Group.data,
        "저장/전송 중 암호화 (전송 중)",
        "HTTPS at the edge, TLS-only buckets, topics, caches and databases",
        check=data.encryption_in_transit,
        exemptions=(Exemption(_PATTERN_1, "plaintext-instance", _PATTERN_1_WHY),),
    ),
    Rule(
        "backups",
        Group.data,
        "정기 백업 및 복구 테스트",
        "Databases backed up (≥ 7 days, AWS Backup) and their restores tested",
        check=data.backups,
    ),
    Rule(
        "kms",
        Group.data,
        "AWS KMS 키 관리",
        "Customer KMS keys rotate; data encrypted with KMS",
        check=data.kms,
    ),
    Rule(
        "cloudtrail",
        Group.monitoring,
        "API 호출 로깅",
        "CloudTrail: multi-region, validated, encrypted; root-use alarm",
        account_check=monitoring.cloudtrail,
    ),
    Rule(
        "guardduty",
        Group.monitoring,
        "위협 탐지 서비스",
        "GuardDuty enabled, findings sent to the alarm topic",
        account_check=monitoring.guardduty,
    ),
    Rule(
        "config",
        Group.monitoring,
        "리소스 구성 감사",
        "AWS Config recording every resource type, with the checklist's rules",
        account_check=monitoring.config,
    ),
)

RULES_BY_ID: Mapping[str, Rule] = {rule.rule_id: rule for rule in CHECKLIST}
