"""A walk through all 73 operations of the vpc-lattice API with boto3, in the order a user would call them;
botocore parses every response (success or error), and the walk must touch every operation in the model."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

CERT = "arn:aws:acm:us-west-2:000000000000:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}'


class Recorder:
    """Collects the operation names botocore parsed a response for."""

    def __init__(self, client: Any) -> None:
        self.seen: set[str] = set()
        client.meta.events.register("after-call.vpc-lattice", self._after)

    def _after(self, model: Any, **_: Any) -> None:
        self.seen.add(model.name)


def _expect_error(code: str, call: Any, **kwargs: Any) -> None:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    assert exc.value.response["Error"]["Code"] == code


def test_every_operation_once(make_server: Any) -> None:
    server = make_server()
    lattice, ec2 = server.client(), server.client("ec2")
    recorder = Recorder(lattice)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    # Service network, service, target group, listener, rules.
    sn = lattice.create_service_network(name="walk-net", tags={"stage": "walk"})
    lattice.get_service_network(serviceNetworkIdentifier=sn["id"])
    lattice.list_service_networks()
    lattice.update_service_network(serviceNetworkIdentifier=sn["id"], authType="AWS_IAM")
    svc = lattice.create_service(name="walk-svc", customDomainName="walk.example.com", certificateArn=CERT)
    lattice.get_service(serviceIdentifier=svc["id"])
    lattice.list_services()
    lattice.update_service(serviceIdentifier=svc["id"], authType="AWS_IAM")
    tg = lattice.create_target_group(
        name="walk-tg", type="IP", config={"port": 8080, "protocol": "HTTP", "vpcIdentifier": vpc}
    )
    lattice.get_target_group(targetGroupIdentifier=tg["id"])
    lattice.list_target_groups()
    lattice.update_target_group(targetGroupIdentifier=tg["id"], healthCheck={"path": "/health"})
    lattice.register_targets(targetGroupIdentifier=tg["id"], targets=[{"id": "127.0.0.1", "port": 8080}])
    lattice.list_targets(targetGroupIdentifier=tg["id"])
    forward = {"forward": {"targetGroups": [{"targetGroupIdentifier": tg["id"], "weight": 100}]}}
    listener = lattice.create_listener(
        serviceIdentifier=svc["id"], name="walk-https", protocol="HTTPS", port=443, defaultAction=forward
    )
    lattice.get_listener(serviceIdentifier=svc["id"], listenerIdentifier=listener["id"])
    lattice.list_listeners(serviceIdentifier=svc["id"])
    lattice.update_listener(
        serviceIdentifier=svc["id"],
        listenerIdentifier=listener["id"],
        defaultAction={"fixedResponse": {"statusCode": 404}},
    )
    ids = {"serviceIdentifier": svc["id"], "listenerIdentifier": listener["id"]}
    match = {"httpMatch": {"pathMatch": {"match": {"prefix": "/orders"}}}}
    rule = lattice.create_rule(**ids, name="walk-rule", priority=10, match=match, action=forward)
    lattice.get_rule(**ids, ruleIdentifier=rule["id"])
    lattice.list_rules(**ids)
    lattice.update_rule(**ids, ruleIdentifier=rule["id"], priority=20)
    lattice.batch_update_rule(**ids, rules=[{"ruleIdentifier": rule["id"], "priority": 30}])

    # Associations.
    snsa = lattice.create_service_network_service_association(
        serviceIdentifier=svc["id"], serviceNetworkIdentifier=sn["id"]
    )
    lattice.get_service_network_service_association(serviceNetworkServiceAssociationIdentifier=snsa["id"])
    lattice.list_service_network_service_associations(serviceNetworkIdentifier=sn["id"])
    snva = lattice.create_service_network_vpc_association(vpcIdentifier=vpc, serviceNetworkIdentifier=sn["id"])
    lattice.get_service_network_vpc_association(serviceNetworkVpcAssociationIdentifier=snva["id"])
    lattice.list_service_network_vpc_associations(serviceNetworkIdentifier=sn["id"])
    lattice.update_service_network_vpc_association(
        serviceNetworkVpcAssociationIdentifier=snva["id"], securityGroupIds=["sg-0123456789abcdef0"]
    )
    lattice.list_service_network_vpc_endpoint_associations(serviceNetworkIdentifier=sn["id"])

    # Policies, access logs, tags.
    lattice.put_auth_policy(resourceIdentifier=svc["id"], policy=POLICY)
    lattice.get_auth_policy(resourceIdentifier=svc["id"])
    lattice.put_resource_policy(resourceArn=svc["arn"], policy=POLICY)
    lattice.get_resource_policy(resourceArn=svc["arn"])
    als = lattice.create_access_log_subscription(
        resourceIdentifier=svc["id"], destinationArn="arn:aws:logs:us-west-2:000000000000:log-group:walk"
    )
    lattice.get_access_log_subscription(accessLogSubscriptionIdentifier=als["id"])
    lattice.list_access_log_subscriptions(resourceIdentifier=svc["id"])
    lattice.update_access_log_subscription(
        accessLogSubscriptionIdentifier=als["id"], destinationArn="arn:aws:logs:us-west-2:000000000000:log-group:walk2"
    )
    lattice.tag_resource(resourceArn=svc["arn"], tags={"team": "store"})
    assert lattice.list_tags_for_resource(resourceArn=svc["arn"])["tags"]["team"] == "store"
    lattice.untag_resource(resourceArn=svc["arn"], tagKeys=["team"])

    # VPC resources.
    rgw = lattice.create_resource_gateway(
        name="walk-rgw", vpcIdentifier=vpc, subnetIds=["subnet-0123456789abcdef0"], ipAddressType="IPV4"
    )
    lattice.get_resource_gateway(resourceGatewayIdentifier=rgw["id"])
    lattice.list_resource_gateways()
    lattice.update_resource_gateway(resourceGatewayIdentifier=rgw["id"], securityGroupIds=["sg-0123456789abcdef0"])
    dv = lattice.start_domain_verification(domainName="walk.example.com")
    lattice.get_domain_verification(domainVerificationIdentifier=dv["id"])
    lattice.list_domain_verifications()
    rcfg = lattice.create_resource_configuration(
        name="walk-rcfg",
        type="SINGLE",
        resourceGatewayIdentifier=rgw["id"],
        portRanges=["5432"],
        resourceConfigurationDefinition={"ipResource": {"ipAddress": "10.0.14.85"}},
    )
    lattice.get_resource_configuration(resourceConfigurationIdentifier=rcfg["id"])
    lattice.list_resource_configurations()
    lattice.update_resource_configuration(resourceConfigurationIdentifier=rcfg["id"], portRanges=["5432-5433"])
    snra = lattice.create_service_network_resource_association(
        resourceConfigurationIdentifier=rcfg["id"], serviceNetworkIdentifier=sn["id"]
    )
    lattice.get_service_network_resource_association(serviceNetworkResourceAssociationIdentifier=snra["id"])
    lattice.list_service_network_resource_associations(serviceNetworkIdentifier=sn["id"])
    lattice.list_resource_endpoint_associations(resourceConfigurationIdentifier=rcfg["id"])
    _expect_error(
        "ResourceNotFoundException",
        lattice.delete_resource_endpoint_association,
        resourceEndpointAssociationIdentifier="rea-0123456789abcdef0",
    )

    # Tear everything down in dependency order.
    lattice.delete_service_network_resource_association(serviceNetworkResourceAssociationIdentifier=snra["id"])
    lattice.delete_resource_configuration(resourceConfigurationIdentifier=rcfg["id"])
    lattice.delete_resource_gateway(resourceGatewayIdentifier=rgw["id"])
    lattice.delete_domain_verification(domainVerificationIdentifier=dv["id"])
    lattice.delete_access_log_subscription(accessLogSubscriptionIdentifier=als["id"])
    lattice.delete_resource_policy(resourceArn=svc["arn"])
    lattice.delete_auth_policy(resourceIdentifier=svc["id"])
    lattice.delete_service_network_vpc_association(serviceNetworkVpcAssociationIdentifier=snva["id"])
    lattice.delete_service_network_service_association(serviceNetworkServiceAssociationIdentifier=snsa["id"])
    lattice.delete_rule(**ids, ruleIdentifier=rule["id"])
    lattice.delete_listener(**ids)
    lattice.deregister_targets(targetGroupIdentifier=tg["id"], targets=[{"id": "127.0.0.1", "port": 8080}])
    lattice.delete_target_group(targetGroupIdentifier=tg["id"])
    lattice.delete_service(serviceIdentifier=svc["id"])
    lattice.delete_service_network(serviceNetworkIdentifier=sn["id"])

    assert recorder.seen == set(lattice.meta.service_model.operation_names)
