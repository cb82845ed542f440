"""Tagging through boto3 against a real server (any Lattice ARN, listeners and rules included), plus the pure
tag rules."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from latticework.control.backend.tags import check_tags, resource_type
from latticework.control.errors import ValidationException

FIXED_404 = {"fixedResponse": {"statusCode": 404}}


def _error(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    response = exc.value.response
    return {**response["Error"], "status": response["ResponseMetadata"]["HTTPStatusCode"], "body": response}


def test_tags_given_at_create_are_listed(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("tags"), tags={"env": "dev"})
    listed = lattice.list_tags_for_resource(resourceArn=network["arn"])
    assert listed["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert listed["tags"] == {"env": "dev"}


def test_tag_adds_and_overwrites_untag_removes(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("tags"), tags={"env": "dev", "team": "edge"})
    tagged = lattice.tag_resource(resourceArn=service["arn"], tags={"env": "prod", "cost": "42"})
    assert tagged["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert lattice.list_tags_for_resource(resourceArn=service["arn"])["tags"] == {
        "env": "prod",
        "team": "edge",
        "cost": "42",
    }
    untagged = lattice.untag_resource(resourceArn=service["arn"], tagKeys=["team", "absent"])
    assert untagged["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert lattice.list_tags_for_resource(resourceArn=service["arn"])["tags"] == {"env": "prod", "cost": "42"}


def test_untagged_resource_lists_empty_tags(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("tags"))
    assert lattice.list_tags_for_resource(resourceArn=service["arn"])["tags"] == {}


def test_listeners_and_rules_are_taggable(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("tags"))
    listener = lattice.create_listener(
        serviceIdentifier=service["id"], name=unique("http"), protocol="HTTP", defaultAction=FIXED_404
    )
    rule = lattice.create_rule(
        serviceIdentifier=service["id"],
        listenerIdentifier=listener["id"],
        name=unique("path"),
        priority=10,
        match={"httpMatch": {"pathMatch": {"match": {"prefix": "/api"}}}},
        action=FIXED_404,
    )
    for arn in (listener["arn"], rule["arn"]):
        lattice.tag_resource(resourceArn=arn, tags={"owner": arn.rsplit("/", 1)[-1]})
    assert lattice.list_tags_for_resource(resourceArn=listener["arn"])["tags"] == {"owner": listener["id"]}
    assert lattice.list_tags_for_resource(resourceArn=rule["arn"])["tags"] == {"owner": rule["id"]}


def test_reserved_aws_prefix_is_refused(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("tags"))
    with pytest.raises(ClientError) as exc:
        lattice.tag_resource(resourceArn=network["arn"], tags={"AWS:cloudformation:stack": "x"})
    error = _error(exc)
    assert (error["Code"], error["status"]) == ("ValidationException", 400)
    assert [f["name"] for f in error["body"]["fieldList"]] == ["tags"]
    with pytest.raises(ClientError) as exc:
        lattice.untag_resource(resourceArn=network["arn"], tagKeys=["aws:createdBy"])
    assert [f["name"] for f in _error(exc)["body"]["fieldList"]] == ["tagKeys"]


def test_at_most_fifty_tags_counting_existing_ones(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("tags"), tags={f"k{i}": "v" for i in range(40)})
    # Overwriting existing keys does not add to the count.
    lattice.tag_resource(resourceArn=service["arn"], tags={f"k{i}": "w" for i in range(30, 50)})
    assert len(lattice.list_tags_for_resource(resourceArn=service["arn"])["tags"]) == 50
    with pytest.raises(ClientError) as exc:
        lattice.tag_resource(resourceArn=service["arn"], tags={"one-more": "v"})
    error = _error(exc)
    assert (error["Code"], error["status"]) == ("ValidationException", 400)
    assert "at most 50 tags" in error["Message"] and "51" in error["Message"]
    assert len(lattice.list_tags_for_resource(resourceArn=service["arn"])["tags"]) == 50


@pytest.mark.parametrize(
    ("arn", "resource_type_"),
    [
        ("arn:aws:vpc-lattice:us-west-2:000000000000:service/svc-0123456789abcdef0", "SERVICE"),
        ("arn:aws:vpc-lattice:us-west-2:000000000000:targetgroup/tg-0123456789abcdef0", "TARGET_GROUP"),
    ],
)
def test_unknown_arn_is_404(lattice: Any, arn: str, resource_type_: str) -> None:
    for call in (
        lambda: lattice.list_tags_for_resource(resourceArn=arn),
        lambda: lattice.tag_resource(resourceArn=arn, tags={"a": "b"}),
        lambda: lattice.untag_resource(resourceArn=arn, tagKeys=["a"]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        error = _error(exc)
        assert (error["Code"], error["status"]) == ("ResourceNotFoundException", 404)
        assert (error["body"]["resourceType"], error["body"]["resourceId"]) == (resource_type_, arn)


def test_internal_records_are_not_taggable(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("tags"))
    lattice.put_auth_policy(
        resourceIdentifier=service["id"],
        policy='{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}',
    )
    with pytest.raises(ClientError) as exc:
        lattice.list_tags_for_resource(resourceArn=service["arn"] + "/authpolicy")
    assert _error(exc)["Code"] == "ResourceNotFoundException"


def test_resource_of_another_region_is_not_found(server: Any, unique: Any) -> None:
    service = server.client(region="us-west-2").create_service(name=unique("tags"))
    with pytest.raises(ClientError) as exc:
        server.client(region="eu-west-1").list_tags_for_resource(resourceArn=service["arn"])
    assert _error(exc)["Code"] == "ResourceNotFoundException"


# -- pure rules ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "existing", "fragment"),
    [
        ({"env": "prod", "path": "/a/b", "mail": "a@b.c", "eq": "x=y+z", "space": "a b", "é": "ü"}, {}, None),
        ({}, {f"k{i}": "" for i in range(60)}, None),  # nothing new: an over-full resource is left alone
        ({"aws:x": "1"}, {}, "reserved for AWS use"),
        ({"Aws:X": "1"}, {}, "reserved for AWS use"),
        ({"a,b": "1"}, {}, "characters that are not allowed (,)"),
        ({"k": "v;w"}, {}, "characters that are not allowed (;)"),
        ({f"n{i}": "" for i in range(51)}, {}, "at most 50 tags"),
        ({"new": ""}, {f"k{i}": "" for i in range(50)}, "at most 50 tags"),
        ({"k0": "again"}, {f"k{i}": "" for i in range(50)}, None),
    ],
)
def test_check_tags(new: dict[str, str], existing: dict[str, str], fragment: str | None) -> None:
    if fragment is None:
        check_tags(new, existing)
        return
    with pytest.raises(ValidationException) as exc:
        check_tags(new, existing)
    assert fragment in exc.value.message


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        ("arn:aws:vpc-lattice:us-west-2:000000000000:servicenetwork/sn-0123456789abcdef0", "SERVICE_NETWORK"),
        (
            "arn:aws:vpc-lattice:us-west-2:000000000000:service/svc-0123456789abcdef0/listener/"
            "listener-0123456789abcdef0/rule/rule-0123456789abcdef0",
            "RULE",
        ),
        (
            "arn:aws:vpc-lattice:us-west-2:000000000000:accesslogsubscription/als-0123456789abcdef0",
            "ACCESS_LOG_SUBSCRIPTION",
        ),
        ("arn:aws:vpc-lattice:us-west-2:000000000000:widget/w-1", "WIDGET"),
        ("arn:aws:vpc-lattice:us-west-2:000000000000:nothing", "RESOURCE"),
    ],
)
def test_resource_type_of_an_arn(arn: str, expected: str) -> None:
    assert resource_type(arn) == expected
