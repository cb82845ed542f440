"""Service networks through boto3 against a real server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

SN_ARN = re.compile(r"arn:aws:vpc-lattice:us-west-2:000000000000:servicenetwork/sn-0[0-9a-f]{16}")


def _error(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    return {**exc.value.response["Error"], "status": exc.value.response["ResponseMetadata"]["HTTPStatusCode"]}


def test_create_returns_minimal_shape_with_aws_shaped_ids(lattice: Any, unique: Any) -> None:
    created = lattice.create_service_network(name=unique("net"))
    body = {k: v for k, v in created.items() if k != "ResponseMetadata"}
    assert set(body) == {"arn", "authType", "id", "name"}
    assert re.fullmatch(r"sn-0[0-9a-f]{16}", body["id"])
    assert SN_ARN.fullmatch(body["arn"]) and body["arn"].endswith(body["id"])
    assert body["authType"] == "NONE"
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201


def test_get_by_id_and_by_arn_agree_and_count_associations(lattice: Any, unique: Any) -> None:
    created = lattice.create_service_network(name=unique("net"), authType="AWS_IAM")
    by_id = lattice.get_service_network(serviceNetworkIdentifier=created["id"])
    by_arn = lattice.get_service_network(serviceNetworkIdentifier=created["arn"])
    assert by_id["id"] == by_arn["id"] == created["id"]
    assert by_id["authType"] == "AWS_IAM"
    assert by_id["numberOfAssociatedServices"] == 0 and by_id["numberOfAssociatedVPCs"] == 0
    assert by_id["createdAt"] <= by_id["lastUpdatedAt"]


def test_names_are_unique_per_account_and_region(server: Any, unique: Any) -> None:
    name = unique("net")
    west, east = server.client(region="us-west-2"), server.client(region="us-east-1")
    west.create_service_network(name=name)
    with pytest.raises(ClientError) as exc:
        west.create_service_network(name=name)
    assert _error(exc)["Code"] == "ConflictException" and _error(exc)["status"] == 409
    assert exc.value.response["resourceType"] == "SERVICE_NETWORK"
    other = east.create_service_network(name=name)
    assert ":us-east-1:" in other["arn"]
    with pytest.raises(ClientError) as exc:
        west.get_service_network(serviceNetworkIdentifier=other["id"])
    assert _error(exc)["Code"] == "ResourceNotFoundException"


def test_update_changes_auth_type_only(lattice: Any, unique: Any) -> None:
    created = lattice.create_service_network(name=unique("net"))
    updated = lattice.update_service_network(serviceNetworkIdentifier=created["id"], authType="AWS_IAM")
    assert updated["authType"] == "AWS_IAM" and updated["name"] == created["name"]
    assert lattice.get_service_network(serviceNetworkIdentifier=created["id"])["authType"] == "AWS_IAM"


def test_delete_answers_204_and_forgets(lattice: Any, unique: Any) -> None:
    created = lattice.create_service_network(name=unique("net"))
    deleted = lattice.delete_service_network(serviceNetworkIdentifier=created["arn"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        lattice.get_service_network(serviceNetworkIdentifier=created["id"])
    err = exc.value.response
    assert err["Error"]["Code"] == "ResourceNotFoundException"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert err["resourceId"] == created["id"] and err["resourceType"] == "SERVICE_NETWORK"


def test_unknown_identifier_of_valid_shape_is_404(lattice: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.delete_service_network(serviceNetworkIdentifier="sn-0123456789abcdef0")
    assert _error(exc)["status"] == 404
