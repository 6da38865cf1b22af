"""The MicroservicesShop stack (EKS) and what its manifests (deploy/k8s) take from it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from infra_synth import REPO_ROOT, Synth

from cloudmall_infra.k8s.contract import (
    APP_SUBNET_CIDRS,
    DATA_SUBNET_CIDRS,
    EXTERNAL_SECRETS_NAMESPACE,
    EXTERNAL_SECRETS_SERVICE_ACCOUNT,
    KUBERNETES_VERSION,
    LAKE_SERVICE_ACCOUNT,
    NAMESPACE,
    PUBLIC_SUBNET_CIDRS,
    SERVICES,
)

STACK = "MicroservicesShop"


def resources(synth: Synth, type_: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in synth.resources(STACK, type_).values()]


def test_the_cluster_runs_the_manifests_kubernetes_version_privately_with_its_logs(
    production: Synth,
) -> None:
    (cluster,) = resources(production, "AWS::EKS::Cluster")
    assert cluster["Version"] == KUBERNETES_VERSION
    access = cluster["ResourcesVpcConfig"]
    assert access["EndpointPublicAccess"] is False and access["EndpointPrivateAccess"] is True
    logged = {
        kind
        for entry in cluster["Logging"]["ClusterLogging"]["EnabledTypes"]
        for kind in entry.values()
    }
    assert logged == {"api", "audit", "authenticator", "controllerManager", "scheduler"}


def test_managed_nodes_span_two_zones(production: Synth) -> None:
    (nodes,) = resources(production, "AWS::EKS::Nodegroup")
    assert nodes["InstanceTypes"] == ["t3.medium"]
    assert nodes["ScalingConfig"]["MinSize"] >= 2
    assert len(nodes["Subnets"]) == 2


def test_the_subnets_are_the_ones_the_network_policies_name(production: Synth) -> None:
    cidrs = sorted(p["CidrBlock"] for p in resources(production, "AWS::EC2::Subnet"))
    assert cidrs == sorted([*PUBLIC_SUBNET_CIDRS, *APP_SUBNET_CIDRS, *DATA_SUBNET_CIDRS])


def test_network_policies_are_enforced_and_autoscalers_have_metrics(production: Synth) -> None:
    addons = {p["AddonName"]: p for p in resources(production, "AWS::EKS::Addon")}
    assert set(addons) == {"vpc-cni", "eks-pod-identity-agent", "metrics-server"}
    assert json.loads(addons["vpc-cni"]["ConfigurationValues"]) == {"enableNetworkPolicy": "true"}
    charts = {p["Chart"] for p in resources(production, "Custom::AWSCDK-EKS-HelmChart")}
    assert charts == {"aws-load-balancer-controller", "external-secrets"}


def test_pod_identity_gives_aws_permissions_to_three_service_accounts_only(
    production: Synth,
) -> None:
    associations = {
        (p["Namespace"], p["ServiceAccount"])
        for p in resources(production, "AWS::EKS::PodIdentityAssociation")
    }
    assert associations == {
        (EXTERNAL_SECRETS_NAMESPACE, EXTERNAL_SECRETS_SERVICE_ACCOUNT),
        (NAMESPACE, "products"),
        (NAMESPACE, LAKE_SERVICE_ACCOUNT),
    }


def test_each_service_has_its_own_multi_az_database(production: Synth) -> None:
    databases = resources(production, "AWS::RDS::DBInstance")
    assert sorted(p["DBName"] for p in databases) == sorted(s.name for s in SERVICES)
    assert all(p["MultiAZ"] and p["StorageEncrypted"] for p in databases)
    (cache,) = resources(production, "AWS::ElastiCache::ReplicationGroup")
    assert cache["TransitEncryptionEnabled"] and cache["MultiAZEnabled"]


def test_the_shared_redis_evicts_only_keys_with_a_ttl(production: Synth) -> None:
    """The cache's group is the broker's Redis too (its streams, the access board): a full
    memory may evict cache entries (each has a TTL), never a stream or a ban (none has)."""
    (cache,) = resources(production, "AWS::ElastiCache::ReplicationGroup")
    groups = production.resources(STACK, "AWS::ElastiCache::ParameterGroup")
    assert cache["CacheParameterGroupName"] == {"Ref": only_key(groups)}
    (group,) = groups.values()
    assert group["Properties"]["CacheParameterGroupFamily"] == "redis7"
    assert group["Properties"]["Properties"] == {"maxmemory-policy": "volatile-lru"}


def only_key(found: dict[str, Any]) -> str:
    (key,) = found
    return key


def external_secret_keys() -> set[str]:
    keys = set()
    for path in (REPO_ROOT / "deploy" / "k8s").glob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text()):
            if document and document["kind"] == "ExternalSecret":
                keys |= {item["remoteRef"]["key"] for item in document["spec"]["data"]}
                keys |= {item["extract"]["key"] for item in document["spec"]["dataFrom"]}
    return keys


def test_every_secret_the_manifests_read_is_made_by_the_stack(production: Synth) -> None:
    names = {p.get("Name") for p in resources(production, "AWS::SecretsManager::Secret")}
    assert external_secret_keys() <= names
    endpoints = next(
        p for p in resources(production, "AWS::SecretsManager::Secret")
        if p.get("Name") == "cloudmall/eks/endpoints"
    )  # fmt: skip
    text = json.dumps(endpoints["SecretString"])
    assert all(f'\\"{key}\\"' in text for key in ("cache_host", "media_bucket", "lake_bucket"))


def test_alarms_go_to_the_topic(production: Synth) -> None:
    alarms = resources(production, "AWS::CloudWatch::Alarm")
    assert len(alarms) == len(SERVICES) + 1
    assert all(p["AlarmActions"] and p["OKActions"] for p in alarms)


@pytest.mark.parametrize("bucket", ["MediaBucket", "LakeBucket", "ImageRepositoryUri", "WebAclArn"])
def test_the_stack_outputs_what_the_manifests_synth_needs(production: Synth, bucket: str) -> None:
    assert bucket in production.templates[STACK]["Outputs"]
