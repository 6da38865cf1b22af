"""Network rules on small templates: private subnets, security groups, WAF."""

from __future__ import annotations

from cloudmall.audit import network
from tests.unit.audit.templates import public_network, ref, security_group, stack, tcp


def test_an_instance_in_a_public_subnet_is_reported_and_one_in_a_private_subnet_is_not() -> None:
    shop = stack(
        {
            **public_network(),
            "Exposed": ("AWS::EC2::Instance", {"SubnetId": ref("PublicSubnet")}),
            "Hidden": ("AWS::EC2::Instance", {"SubnetId": ref("PrivateSubnet")}),
        }
    )
    outcome = network.private_subnets(shop)
    assert [(p.resource, p.code) for p in outcome.problems] == [("Shop/Exposed", "public-subnet")]
    assert outcome.evidence == ("Shop/Hidden",)


def test_databases_and_groups_are_followed_through_their_subnet_groups() -> None:
    shop = stack(
        {
            **public_network(),
            "DbSubnets": ("AWS::RDS::DBSubnetGroup", {"SubnetIds": [ref("PublicSubnet")]}),
            "Db": ("AWS::RDS::DBInstance", {"DBSubnetGroupName": ref("DbSubnets")}),
            "Asg": (
                "AWS::AutoScaling::AutoScalingGroup",
                {"VPCZoneIdentifier": [ref("PrivateSubnet")]},
            ),
        }
    )
    outcome = network.private_subnets(shop)
    assert [p.resource for p in outcome.problems] == ["Shop/Db"]
    assert outcome.evidence == ("Shop/Asg",)


def test_an_elastic_ip_or_public_flag_is_reported_even_in_a_private_subnet() -> None:
    shop = stack(
        {
            **public_network(),
            "Server": ("AWS::EC2::Instance", {"SubnetId": ref("PrivateSubnet")}),
            "Eip": ("AWS::EC2::EIPAssociation", {"InstanceId": ref("Server")}),
            "Db": ("AWS::RDS::DBCluster", {"PubliclyAccessible": True}),
        }
    )
    codes = sorted(p.code for p in network.private_subnets(shop).problems)
    assert codes == ["public-database", "public-ip", "subnet-unknown"]


def test_no_workloads_is_not_applicable_not_met() -> None:
    outcome = network.private_subnets(stack({"Topic": ("AWS::SNS::Topic", {})}))
    assert outcome.not_applicable and not outcome.evidence and not outcome.problems


def test_ssh_open_to_the_world_is_reported_and_https_is_not() -> None:
    shop = stack({"Web": security_group(tcp(443), tcp(80)), "Admin": security_group(tcp(22))})
    outcome = network.security_groups(shop)
    assert [str(p) for p in outcome.problems] == ["Shop/Admin: port 22 open to 0.0.0.0/0"]
    assert outcome.evidence == ("Shop/Web",)


def test_standalone_ingress_rules_all_ports_and_ipv6_count_too() -> None:
    shop = stack(
        {
            "Sg": security_group(),
            "AllFromVpc": (
                "AWS::EC2::SecurityGroupIngress",
                {
                    "GroupId": {"Fn::GetAtt": ["Sg", "GroupId"]},
                    "IpProtocol": "-1",
                    "CidrIp": "10.0.0.0/16",
                },
            ),
            "Rdp6": security_group(
                {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "CidrIpv6": "::/0"}
            ),
        }
    )
    problems = {str(p) for p in network.security_groups(shop).problems}
    assert problems == {
        "Shop/Sg: all ports open to 10.0.0.0/16",
        "Shop/Rdp6: port 3389 open to ::/0",
    }


def test_a_port_range_open_to_the_world_is_reported_even_if_it_includes_443() -> None:
    wide = {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 1024, "CidrIp": "0.0.0.0/0"}
    problems = network.security_groups(stack({"Sg": security_group(wide)})).problems
    assert [p.message for p in problems] == ["ports 0-1024 open to 0.0.0.0/0"]


def test_an_internet_facing_alb_needs_a_web_acl_association() -> None:
    alb = ("AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internet-facing"})
    bare = network.waf(stack({"Alb": alb}))
    assert [p.code for p in bare.problems] == ["no-waf"]
    covered = network.waf(
        stack(
            {
                "Alb": alb,
                "Acl": ("AWS::WAFv2::WebACL", {}),
                "Assoc": (
                    "AWS::WAFv2::WebACLAssociation",
                    {"ResourceArn": ref("Alb"), "WebACLArn": {"Fn::GetAtt": ["Acl", "Arn"]}},
                ),
            }
        )
    )
    assert covered.evidence == ("Shop/Alb",) and not covered.problems


def test_internal_albs_and_s3_only_distributions_need_no_waf() -> None:
    s3_only = {
        "DistributionConfig": {
            "Origins": [{"DomainName": "b.s3.amazonaws.com", "S3OriginConfig": {}}]
        }
    }
    outcome = network.waf(
        stack(
            {
                "Internal": ("AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internal"}),
                "Media": ("AWS::CloudFront::Distribution", s3_only),
            }
        )
    )
    assert outcome.not_applicable


def test_a_distribution_in_front_of_an_unprotected_app_is_reported() -> None:
    app_origin = {
        "DistributionConfig": {
            "Origins": [
                {"DomainName": {"Fn::GetAtt": ["Alb", "DNSName"]}, "CustomOriginConfig": {}}
            ]
        }
    }
    shop = stack(
        {
            "Alb": ("AWS::ElasticLoadBalancingV2::LoadBalancer", {"Scheme": "internet-facing"}),
            "Cdn": ("AWS::CloudFront::Distribution", app_origin),
        }
    )
    assert sorted(p.resource for p in network.waf(shop).problems) == ["Shop/Alb", "Shop/Cdn"]
