"""Auth policies and resource policies through boto3 against a real server; the policy engine checks them."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
from botocore.exceptions import ClientError

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:role/my-clients"},
            "Action": "vpc-lattice-svcs:Invoke",
            "Resource": "*",
        }
    ],
}
COMPACT = json.dumps(POLICY, separators=(",", ":"))


def _error(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    response = exc.value.response
    return {**response["Error"], "status": response["ResponseMetadata"]["HTTPStatusCode"], "body": response}


def _body(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def stored(server: Any, kind: str, id: str) -> int:
    """How many records of `kind` with `id` the server's store holds (read-only look into its SQLite file)."""
    with sqlite3.connect(f"file:{server.state_dir / 'latticework.db'}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT COUNT(*) FROM resources WHERE kind=? AND id=?", (kind, id)).fetchone()[0])


# -- auth policies: put / get / delete ------------------------------------------------------------------------


def test_put_returns_minified_policy_and_inactive_state_for_auth_type_none(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("pol"))
    put = lattice.put_auth_policy(resourceIdentifier=service["id"], policy=json.dumps(POLICY, indent=4))
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _body(put) == {"policy": COMPACT, "state": "Inactive"}


def test_get_adds_timestamps_and_put_again_keeps_created_at(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("pol"), authType="AWS_IAM")
    lattice.put_auth_policy(resourceIdentifier=network["arn"], policy=COMPACT)
    first = lattice.get_auth_policy(resourceIdentifier=network["id"])
    assert set(_body(first)) == {"policy", "state", "createdAt", "lastUpdatedAt"}
    assert first["state"] == "Active" and first["policy"] == COMPACT
    deny = {**POLICY, "Statement": [{**POLICY["Statement"][0], "Effect": "Deny"}]}
    lattice.put_auth_policy(resourceIdentifier=network["id"], policy=json.dumps(deny))
    second = lattice.get_auth_policy(resourceIdentifier=network["arn"])
    assert json.loads(second["policy"])["Statement"][0]["Effect"] == "Deny"
    assert second["createdAt"] == first["createdAt"]
    assert second["lastUpdatedAt"] >= first["lastUpdatedAt"]


def test_state_follows_update_service_auth_type(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("flip"))
    assert lattice.put_auth_policy(resourceIdentifier=service["id"], policy=COMPACT)["state"] == "Inactive"
    lattice.update_service(serviceIdentifier=service["id"], authType="AWS_IAM")
    assert lattice.get_auth_policy(resourceIdentifier=service["id"])["state"] == "Active"
    assert lattice.put_auth_policy(resourceIdentifier=service["id"], policy=COMPACT)["state"] == "Active"
    lattice.update_service(serviceIdentifier=service["id"], authType="NONE")
    assert lattice.get_auth_policy(resourceIdentifier=service["id"])["state"] == "Inactive"


def test_state_follows_update_service_network_auth_type(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("flip"))
    lattice.put_auth_policy(resourceIdentifier=network["id"], policy=COMPACT)
    assert lattice.get_auth_policy(resourceIdentifier=network["id"])["state"] == "Inactive"
    lattice.update_service_network(serviceNetworkIdentifier=network["id"], authType="AWS_IAM")
    assert lattice.get_auth_policy(resourceIdentifier=network["id"])["state"] == "Active"


def test_get_without_policy_is_200_with_empty_body(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("nopol"), authType="AWS_IAM")
    got = lattice.get_auth_policy(resourceIdentifier=service["id"])
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _body(got) == {}


def test_delete_is_204_and_idempotent(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("delpol"))
    lattice.put_auth_policy(resourceIdentifier=service["id"], policy=COMPACT)
    deleted = lattice.delete_auth_policy(resourceIdentifier=service["arn"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _body(lattice.get_auth_policy(resourceIdentifier=service["id"])) == {}
    again = lattice.delete_auth_policy(resourceIdentifier=service["id"])
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_unknown_owner_is_404_with_its_resource_type(lattice: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.put_auth_policy(resourceIdentifier="svc-0123456789abcdef0", policy=COMPACT)
    error = _error(exc)
    assert (error["Code"], error["status"]) == ("ResourceNotFoundException", 404)
    assert error["body"]["resourceType"] == "SERVICE" and error["body"]["resourceId"] == "svc-0123456789abcdef0"
    with pytest.raises(ClientError) as exc:
        lattice.get_auth_policy(resourceIdentifier="sn-0123456789abcdef0")
    assert _error(exc)["body"]["resourceType"] == "SERVICE_NETWORK"


@pytest.mark.parametrize(
    ("policy", "fragment"),
    [
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ('["Statement"]', "must be a JSON object"),
        ('{"Version":"2012-10-17"}', "no Statement"),
        ('{"Statement":[{"Effect":"Permit","Principal":"*","Action":"*"}]}', "Statement[0].Effect"),
        ('{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}', "needs a Principal"),
        ('{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"}]}', "Resource"),
        # Issue 4: policies that parse but could never evaluate are refused by the policy engine.
        (
            '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"vpc-lattice-svcs:Invoke","Resource":"*",'
            '"Condition":{"StringEqual":{"aws:PrincipalOrgID":"o-1"}}}]}',
            "StringEqual",
        ),
        ('{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}', "s3:GetObject"),
        (
            '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"vpc-lattice-svcs:Invoke","Resource":"*",'
            '"Condition":{"NumericEquals":{"vpc-lattice-svcs:Port":"eighty"}}}]}',
            "eighty",
        ),
        (
            '{"Statement":[{"Effect":"Allow","Principal":"*","Action":"vpc-lattice-svcs:Invoke","Resource":"*",'
            '"Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}]}',
            "10.0.0.0/33",
        ),
    ],
)
def test_invalid_policy_is_a_validation_error_on_policy(lattice: Any, unique: Any, policy: str, fragment: str) -> None:
    service = lattice.create_service(name=unique("badpol"))
    with pytest.raises(ClientError) as exc:
        lattice.put_auth_policy(resourceIdentifier=service["id"], policy=policy)
    error = _error(exc)
    assert (error["Code"], error["status"]) == ("ValidationException", 400)
    assert [f["name"] for f in error["body"]["fieldList"]] == ["policy"]
    assert fragment in error["Message"]


def test_auth_policy_size_quota_is_402_past_the_limit(make_server: Any) -> None:
    lattice = make_server("--quota", f"auth_policy_bytes={len(COMPACT)}").client()
    service = lattice.create_service(name="sized")
    assert lattice.put_auth_policy(resourceIdentifier=service["id"], policy=COMPACT)["policy"] == COMPACT
    bigger = json.dumps({**POLICY, "Id": "x"}, separators=(",", ":"))
    with pytest.raises(ClientError) as exc:
        lattice.put_auth_policy(resourceIdentifier=service["id"], policy=bigger)
    error = _error(exc)
    assert (error["Code"], error["status"]) == ("ServiceQuotaExceededException", 402)
    assert error["body"]["resourceType"] == "AUTH_POLICY" and error["body"]["serviceCode"] == "vpc-lattice"
    assert lattice.get_auth_policy(resourceIdentifier=service["id"])["policy"] == COMPACT


# -- resource policies ----------------------------------------------------------------------------------------


def test_resource_policy_put_get_delete(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("share"))
    text = json.dumps(POLICY)
    put = lattice.put_resource_policy(resourceArn=network["arn"], policy=text)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200 and _body(put) == {}
    assert _body(lattice.get_resource_policy(resourceArn=network["arn"])) == {"policy": text}
    deleted = lattice.delete_resource_policy(resourceArn=network["arn"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _body(lattice.get_resource_policy(resourceArn=network["arn"])) == {}


def test_resource_policy_takes_an_arn_only(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("share"))
    with pytest.raises(ClientError) as exc:
        lattice.put_resource_policy(resourceArn=service["id"], policy=json.dumps(POLICY))
    error = _error(exc)
    assert error["Code"] == "ValidationException"
    assert [f["name"] for f in error["body"]["fieldList"]] == ["resourceArn"]


def test_resource_policy_must_be_a_policy_document(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("share"))
    with pytest.raises(ClientError) as exc:
        lattice.put_resource_policy(resourceArn=service["arn"], policy='{"Statement": []}')
    error = _error(exc)
    assert error["Code"] == "ValidationException" and "at least one statement" in error["Message"]


def test_resource_policy_takes_sharing_actions_that_auth_policies_refuse(lattice: Any, unique: Any) -> None:
    """A RAM-style sharing policy names vpc-lattice: actions; an auth policy may only name vpc-lattice-svcs:."""
    network = lattice.create_service_network(name=unique("share"))
    sharing = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": ["vpc-lattice:CreateServiceNetworkServiceAssociation", "vpc-lattice:GetServiceNetwork"],
                "Resource": network["arn"],
            }
        ],
    }
    lattice.put_resource_policy(resourceArn=network["arn"], policy=json.dumps(sharing))
    with pytest.raises(ClientError) as exc:
        lattice.put_auth_policy(resourceIdentifier=network["id"], policy=json.dumps(sharing))
    assert "is not a VPC Lattice action" in _error(exc)["Message"]


def test_resource_policy_of_unknown_service_is_404(lattice: Any) -> None:
    arn = "arn:aws:vpc-lattice:us-west-2:000000000000:service/svc-0123456789abcdef0"
    with pytest.raises(ClientError) as exc:
        lattice.get_resource_policy(resourceArn=arn)
    assert (_error(exc)["Code"], _error(exc)["body"]["resourceType"]) == ("ResourceNotFoundException", "SERVICE")


# -- cascades --------------------------------------------------------------------------------------------------


def test_deleting_a_service_deletes_its_policies_and_subscriptions(server: Any, lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("cascade"))
    lattice.put_auth_policy(resourceIdentifier=service["id"], policy=COMPACT)
    lattice.put_resource_policy(resourceArn=service["arn"], policy=COMPACT)
    subscription = lattice.create_access_log_subscription(
        resourceIdentifier=service["id"], destinationArn="arn:aws:s3:::cascade-logs"
    )
    assert stored(server, "authpolicy", service["id"]) == stored(server, "resourcepolicy", service["id"]) == 1
    lattice.delete_service(serviceIdentifier=service["id"])
    assert stored(server, "authpolicy", service["id"]) == stored(server, "resourcepolicy", service["id"]) == 0
    with pytest.raises(ClientError) as exc:
        lattice.get_access_log_subscription(accessLogSubscriptionIdentifier=subscription["id"])
    assert _error(exc)["body"]["resourceType"] == "ACCESS_LOG_SUBSCRIPTION"


def test_deleting_a_service_network_deletes_its_policies_and_subscriptions(
    server: Any, lattice: Any, unique: Any
) -> None:
    network = lattice.create_service_network(name=unique("cascade"))
    lattice.put_auth_policy(resourceIdentifier=network["id"], policy=COMPACT)
    lattice.put_resource_policy(resourceArn=network["arn"], policy=COMPACT)
    subscription = lattice.create_access_log_subscription(
        resourceIdentifier=network["arn"], destinationArn="arn:aws:s3:::cascade-logs"
    )
    lattice.delete_service_network(serviceNetworkIdentifier=network["id"])
    assert stored(server, "authpolicy", network["id"]) == stored(server, "resourcepolicy", network["id"]) == 0
    assert stored(server, "accesslogsubscription", subscription["id"]) == 0
