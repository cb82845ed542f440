"""Access log subscriptions through boto3 against a real server, plus the pure destination classifier."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from latticework.control.backend.access_logs import destination_type

LOGS = "arn:aws:logs:us-west-2:000000000000:log-group:/lattice/access"
S3 = "arn:aws:s3:::lattice-access-logs"
FIREHOSE = "arn:aws:firehose:us-west-2:000000000000:deliverystream/lattice-logs"
ALS_ARN = re.compile(r"arn:aws:vpc-lattice:us-west-2:000000000000:accesslogsubscription/(als-0[0-9a-f]{16})")


def _error(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    response = exc.value.response
    return {**response["Error"], "status": response["ResponseMetadata"]["HTTPStatusCode"], "body": response}


def _body(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def test_create_on_service_network_defaults_to_service_logs(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("logs"))
    created = lattice.create_access_log_subscription(resourceIdentifier=network["id"], destinationArn=LOGS)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    body = _body(created)
    match = ALS_ARN.fullmatch(body.pop("arn"))
    assert match and match[1] == body.pop("id")
    assert body == {
        "destinationArn": LOGS,
        "resourceArn": network["arn"],
        "resourceId": network["id"],
        "serviceNetworkLogType": "SERVICE",
    }


def test_create_on_service_has_no_log_type(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("logs"))
    created = lattice.create_access_log_subscription(resourceIdentifier=service["arn"], destinationArn=S3)
    assert set(_body(created)) == {"arn", "destinationArn", "id", "resourceArn", "resourceId"}
    assert created["resourceId"] == service["id"]


def test_log_type_is_refused_for_a_service(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("logs"))
    with pytest.raises(ClientError) as exc:
        lattice.create_access_log_subscription(
            resourceIdentifier=service["id"], destinationArn=S3, serviceNetworkLogType="RESOURCE"
        )
    error = _error(exc)
    assert (error["Code"], error["status"]) == ("ValidationException", 400)
    assert [f["name"] for f in error["body"]["fieldList"]] == ["serviceNetworkLogType"]


def test_get_by_id_and_arn_adds_timestamps(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("logs"))
    created = lattice.create_access_log_subscription(
        resourceIdentifier=network["arn"], destinationArn=FIREHOSE, serviceNetworkLogType="RESOURCE"
    )
    by_id = _body(lattice.get_access_log_subscription(accessLogSubscriptionIdentifier=created["id"]))
    by_arn = _body(lattice.get_access_log_subscription(accessLogSubscriptionIdentifier=created["arn"]))
    assert by_id == by_arn
    assert by_id["serviceNetworkLogType"] == "RESOURCE" and by_id["destinationArn"] == FIREHOSE
    assert by_id["createdAt"] == by_id["lastUpdatedAt"]


def test_unsupported_destination_lists_the_accepted_forms(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("logs"))
    with pytest.raises(ClientError) as exc:
        lattice.create_access_log_subscription(
            resourceIdentifier=service["id"], destinationArn="arn:aws:sqs:us-west-2:000000000000:queue"
        )
    error = _error(exc)
    assert (error["Code"], error["status"]) == ("ValidationException", 400)
    assert [f["name"] for f in error["body"]["fieldList"]] == ["destinationArn"]
    for form in ("log-group:NAME", "arn:aws:s3:::BUCKET", "deliverystream/NAME"):
        assert form in error["Message"]


def test_one_subscription_per_destination_type(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("logs"))
    first = lattice.create_access_log_subscription(resourceIdentifier=service["id"], destinationArn=LOGS)
    lattice.create_access_log_subscription(resourceIdentifier=service["id"], destinationArn=S3)
    lattice.create_access_log_subscription(resourceIdentifier=service["id"], destinationArn=FIREHOSE)
    with pytest.raises(ClientError) as exc:
        lattice.create_access_log_subscription(resourceIdentifier=service["id"], destinationArn=LOGS + "-other")
    error = _error(exc)
    assert (error["Code"], error["status"]) == ("ConflictException", 409)
    assert error["body"]["resourceType"] == "ACCESS_LOG_SUBSCRIPTION"
    assert error["body"]["resourceId"] == first["id"]


def test_service_and_resource_logs_of_a_network_are_separate(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("logs"))
    lattice.create_access_log_subscription(resourceIdentifier=network["id"], destinationArn=LOGS)
    resource_logs = lattice.create_access_log_subscription(
        resourceIdentifier=network["id"], destinationArn=LOGS, serviceNetworkLogType="RESOURCE"
    )
    assert resource_logs["serviceNetworkLogType"] == "RESOURCE"
    with pytest.raises(ClientError) as exc:
        lattice.create_access_log_subscription(
            resourceIdentifier=network["id"], destinationArn=LOGS, serviceNetworkLogType="SERVICE"
        )
    assert _error(exc)["Code"] == "ConflictException"


def test_update_changes_destination_only(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("logs"))
    created = lattice.create_access_log_subscription(resourceIdentifier=network["id"], destinationArn=LOGS)
    updated = lattice.update_access_log_subscription(
        accessLogSubscriptionIdentifier=created["arn"], destinationArn=LOGS + ":*"
    )
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _body(updated) == {
        "arn": created["arn"],
        "destinationArn": LOGS + ":*",
        "id": created["id"],
        "resourceArn": network["arn"],
        "resourceId": network["id"],
    }
    got = lattice.get_access_log_subscription(accessLogSubscriptionIdentifier=created["id"])
    assert got["destinationArn"] == LOGS + ":*" and got["serviceNetworkLogType"] == "SERVICE"
    assert got["lastUpdatedAt"] >= got["createdAt"]


def test_update_to_a_type_already_used_is_a_conflict(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("logs"))
    to_logs = lattice.create_access_log_subscription(resourceIdentifier=service["id"], destinationArn=LOGS)
    to_s3 = lattice.create_access_log_subscription(resourceIdentifier=service["id"], destinationArn=S3)
    with pytest.raises(ClientError) as exc:
        lattice.update_access_log_subscription(accessLogSubscriptionIdentifier=to_s3["id"], destinationArn=LOGS)
    assert (_error(exc)["Code"], _error(exc)["body"]["resourceId"]) == ("ConflictException", to_logs["id"])
    moved = lattice.update_access_log_subscription(accessLogSubscriptionIdentifier=to_s3["id"], destinationArn=FIREHOSE)
    assert moved["destinationArn"] == FIREHOSE


def test_update_to_unsupported_destination_is_a_validation_error(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("logs"))
    created = lattice.create_access_log_subscription(resourceIdentifier=service["id"], destinationArn=S3)
    with pytest.raises(ClientError) as exc:
        lattice.update_access_log_subscription(
            accessLogSubscriptionIdentifier=created["id"], destinationArn="arn:aws:s3:::Bad_Bucket"
        )
    assert [f["name"] for f in _error(exc)["body"]["fieldList"]] == ["destinationArn"]


def test_list_pages_by_resource(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("logs"))
    other = lattice.create_service(name=unique("logs"))
    ids = [
        lattice.create_access_log_subscription(resourceIdentifier=service["id"], destinationArn=arn)["id"]
        for arn in (LOGS, S3, FIREHOSE)
    ]
    lattice.create_access_log_subscription(resourceIdentifier=other["id"], destinationArn=S3)
    first = lattice.list_access_log_subscriptions(resourceIdentifier=service["id"], maxResults=2)
    assert [item["id"] for item in first["items"]] == ids[:2] and "nextToken" in first
    rest = lattice.list_access_log_subscriptions(
        resourceIdentifier=service["id"], maxResults=2, nextToken=first["nextToken"]
    )
    assert [item["id"] for item in rest["items"]] == ids[2:] and "nextToken" not in rest
    item = first["items"][0]
    assert set(item) == {"arn", "createdAt", "destinationArn", "id", "lastUpdatedAt", "resourceArn", "resourceId"}


def test_list_of_unknown_resource_is_empty(lattice: Any) -> None:
    """The model lists no ResourceNotFoundException for ListAccessLogSubscriptions."""
    listed = lattice.list_access_log_subscriptions(resourceIdentifier="sn-0123456789abcdef0")
    assert listed["items"] == [] and "nextToken" not in listed


def test_delete_is_204_then_404(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("logs"))
    created = lattice.create_access_log_subscription(resourceIdentifier=service["id"], destinationArn=S3)
    deleted = lattice.delete_access_log_subscription(accessLogSubscriptionIdentifier=created["id"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        lattice.delete_access_log_subscription(accessLogSubscriptionIdentifier=created["id"])
    error = _error(exc)
    assert (error["Code"], error["status"]) == ("ResourceNotFoundException", 404)
    assert error["body"]["resourceType"] == "ACCESS_LOG_SUBSCRIPTION"
    # The type is free again once the subscription is gone.
    lattice.create_access_log_subscription(resourceIdentifier=service["id"], destinationArn=S3)


def test_create_tags_and_client_token(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("logs"))
    params = {"resourceIdentifier": service["id"], "destinationArn": S3, "tags": {"team": "edge"}}
    first = lattice.create_access_log_subscription(clientToken="als-token-1", **params)
    again = lattice.create_access_log_subscription(clientToken="als-token-1", **params)
    assert again["id"] == first["id"]
    assert lattice.list_tags_for_resource(resourceArn=first["arn"])["tags"] == {"team": "edge"}


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        ("arn:aws:logs:us-west-2:123456789012:log-group:/aws/vpc-lattice/app", "CLOUDWATCH_LOGS"),
        ("arn:aws:logs:us-west-2:123456789012:log-group:my_group.1#x:*", "CLOUDWATCH_LOGS"),
        ("arn:aws-cn:logs:cn-north-1:123456789012:log-group:g", "CLOUDWATCH_LOGS"),
        ("arn:aws:s3:::my-bucket", "S3"),
        ("arn:aws:s3:::my.bucket/prefix/path", "S3"),
        ("arn:aws:firehose:us-west-2:123456789012:deliverystream/my_stream-1", "FIREHOSE"),
        ("arn:aws-us-gov:firehose:us-gov-west-1:123456789012:deliverystream/s", "FIREHOSE"),
        ("arn:aws:logs:us-west-2:123456789012:log-group:", None),
        ("arn:aws:logs:us-west-2:123456789012:destination:d", None),
        ("arn:aws:s3:::ab", None),
        ("arn:aws:s3:::My_Bucket", None),
        ("arn:aws:s3:us-west-2:123456789012:my-bucket", None),
        ("arn:aws:firehose:us-west-2:123456789012:deliverystream/", None),
        ("arn:aws:kinesis:us-west-2:123456789012:stream/s", None),
        ("arn:aws:sqs:us-west-2:123456789012:q", None),
    ],
)
def test_destination_type(arn: str, expected: str | None) -> None:
    assert destination_type(arn) == expected
