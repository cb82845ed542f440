"""The API's wire behaviour shared by every operation: pagination, idempotency, errors, unknown routes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _raw(server: Any, method: str, path: str, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(server.url + path, data=body, method=method)
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_pages_cover_every_item_once(make_server: Any) -> None:
    lattice = make_server().client()
    names = {f"page-{i}" for i in range(7)}
    for name in sorted(names):
        lattice.create_service(name=name)
    seen: list[str] = []
    token: dict[str, str] = {}
    while True:
        page = lattice.list_services(maxResults=3, **token)
        assert len(page["items"]) <= 3
        seen += [item["name"] for item in page["items"]]
        if "nextToken" not in page:
            break
        token = {"nextToken": page["nextToken"]}
    assert sorted(seen) == sorted(names)
    paginated = lattice.get_paginator("list_services").paginate(PaginationConfig={"PageSize": 2})
    assert sorted(i["name"] for p in paginated for i in p["items"]) == sorted(names)


def test_last_page_has_no_next_token(lattice: Any, unique: Any) -> None:
    lattice.create_service_network(name=unique("net"))
    assert "nextToken" not in lattice.list_service_networks(maxResults=100)


@pytest.mark.parametrize("token", ["forged", "eyJ4IjoxfQ.deadbeef", "a" * 60])
def test_forged_next_token_is_a_validation_error(lattice: Any, token: str) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.list_services(nextToken=token)
    response = exc.value.response
    assert response["Error"]["Code"] == "ValidationException"
    assert response["fieldList"][0]["name"] == "nextToken"


def test_token_from_another_listing_is_refused(make_server: Any) -> None:
    lattice = make_server().client()
    for i in range(3):
        lattice.create_service(name=f"svc-list-{i}".replace("svc-", "s-"))
        lattice.create_service_network(name=f"net-{i}")
    token = lattice.list_services(maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as exc:
        lattice.list_service_networks(nextToken=token)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert "another listing" in exc.value.response["Error"]["Message"]


def test_client_token_replays_the_same_answer(lattice: Any, unique: Any) -> None:
    name = unique("idem")
    first = lattice.create_service(name=name, clientToken="token-1-" + name)
    again = lattice.create_service(name=name, clientToken="token-1-" + name)
    assert first["id"] == again["id"]
    assert len([s for s in lattice.list_services()["items"] if s["name"] == name]) == 1


def test_client_token_with_other_parameters_conflicts(lattice: Any, unique: Any) -> None:
    name = unique("idem")
    lattice.create_service(name=name, clientToken="token-2-" + name)
    with pytest.raises(ClientError) as exc:
        lattice.create_service(name=name, clientToken="token-2-" + name, authType="AWS_IAM")
    assert exc.value.response["Error"]["Code"] == "ConflictException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_error_shape_has_header_and_json_body(server: Any) -> None:
    status, headers, body = _raw(server, "GET", "/services/svc-0123456789abcdef0")
    assert status == 404
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered["x-amzn-errortype"] == "ResourceNotFoundException"
    assert lowered["x-amzn-requestid"]
    parsed = json.loads(body)
    assert parsed == {
        "message": parsed["message"],
        "resourceId": "svc-0123456789abcdef0",
        "resourceType": "SERVICE",
    }


@pytest.mark.parametrize(
    ("method", "path", "body", "reason"),
    [
        ("GET", "/no-such-thing", None, "unknownOperation"),
        ("PUT", "/services", b"{}", "unknownOperation"),
        ("POST", "/services", b"{not json", "cannotParse"),
        ("POST", "/services", b"[1, 2]", "cannotParse"),
        ("POST", "/services", b'{"name": 5}', "fieldValidationFailed"),
        ("GET", "/services?maxResults=many", None, "fieldValidationFailed"),
    ],
)
def test_bad_requests_get_validation_errors(
    server: Any, method: str, path: str, body: bytes | None, reason: str
) -> None:
    status, _, raw = _raw(server, method, path, body)
    assert status == 400
    parsed = json.loads(raw)
    assert parsed["reason"] == reason and parsed["message"]


def test_delete_with_204_has_empty_body(server: Any, lattice: Any, unique: Any) -> None:
    created = lattice.create_service_network(name=unique("net"))
    status, _, body = _raw(server, "DELETE", f"/servicenetworks/{created['id']}")
    assert (status, body) == (204, b"")


def test_health_reports_config_version_growing(server: Any, lattice: Any, unique: Any) -> None:
    def version() -> int:
        return int(json.loads(_raw(server, "GET", "/_latticework/health")[2])["configVersion"])

    before = version()
    lattice.create_service_network(name=unique("net"))
    assert version() == before + 1
    lattice.list_service_networks()
    assert version() == before + 1


def test_create_time_tags_obey_tag_rules(lattice: Any, unique: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.create_service_network(name=unique("net"), tags={"aws:owner": "me"})
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert exc.value.response["fieldList"][0]["name"] == "tags"
