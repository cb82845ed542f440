"""Domain verifications through boto3 against a real server, plus the pure domain-name rules."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from latticework.control.backend.domain_verifications import domain_problem, within

DV_ARN = re.compile(r"arn:aws:vpc-lattice:us-west-2:000000000000:domainverification/dv-0[0-9a-f]{16}")


@pytest.fixture
def lattice(make_server: Any) -> Any:
    """A private server per test: the quota of 5 verifications per region would not survive a shared one."""
    return make_server().client()


def _error(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    response = exc.value.response
    return {**response["Error"], **response, "status": response["ResponseMetadata"]["HTTPStatusCode"]}


def _body(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _domain(unique: Any) -> str:
    return f"{unique('d')}.example.com"


@pytest.mark.parametrize(
    ("domain", "ok"),
    [
        ("example.com", True),
        ("a-b.c1.example.org", True),
        ("Example.COM", True),
        ("localhost", False),
        ("-bad.example.com", False),
        ("bad-.example.com", False),
        ("under_score.example.com", False),
        ("a..example.com", False),
        ("*.example.com", False),
        (("x" * 64) + ".example.com", False),
    ],
)
def test_domain_problem_accepts_only_fully_qualified_names(domain: str, ok: bool) -> None:
    assert (domain_problem(domain) is None) is ok


@pytest.mark.parametrize(
    ("domain", "parent", "inside"),
    [
        ("example.com", "example.com", True),
        ("db.example.com", "example.com", True),
        ("a.b.EXAMPLE.com", "example.com", True),
        ("badexample.com", "example.com", False),
        ("example.com", "db.example.com", False),
    ],
)
def test_within_means_the_domain_or_a_subdomain(domain: str, parent: str, inside: bool) -> None:
    assert within(domain, parent) is inside


def test_start_returns_a_pending_txt_challenge(lattice: Any, unique: Any) -> None:
    domain = _domain(unique)
    started = lattice.start_domain_verification(domainName=domain)
    assert started["ResponseMetadata"]["HTTPStatusCode"] == 201
    body = _body(started)
    assert set(body) == {"arn", "domainName", "id", "status", "txtMethodConfig"}
    assert re.fullmatch(r"dv-0[0-9a-f]{16}", body["id"]) and DV_ARN.fullmatch(body["arn"])
    assert (body["domainName"], body["status"]) == (domain, "PENDING")
    assert re.fullmatch(r"_[0-9a-f]{14}", body["txtMethodConfig"]["name"])
    assert re.fullmatch(r"vpc-lattice:[0-9a-f]{32}", body["txtMethodConfig"]["value"])


def test_get_adds_created_at_and_tags_and_never_verifies(lattice: Any, unique: Any) -> None:
    started = lattice.start_domain_verification(domainName=_domain(unique), tags={"env": "test"})
    got = _body(lattice.get_domain_verification(domainVerificationIdentifier=started["arn"]))
    assert set(got) == {"arn", "createdAt", "domainName", "id", "status", "tags", "txtMethodConfig"}
    assert got["tags"] == {"env": "test"} and got["status"] == "PENDING"
    assert got["txtMethodConfig"] == started["txtMethodConfig"]
    assert lattice.list_tags_for_resource(resourceArn=started["arn"])["tags"] == {"env": "test"}


def test_each_challenge_is_random(lattice: Any, unique: Any) -> None:
    first = lattice.start_domain_verification(domainName=_domain(unique))["txtMethodConfig"]
    second = lattice.start_domain_verification(domainName=_domain(unique))["txtMethodConfig"]
    assert first["name"] != second["name"] and first["value"] != second["value"]


def test_a_domain_has_one_verification(lattice: Any, unique: Any) -> None:
    domain = _domain(unique)
    started = lattice.start_domain_verification(domainName=domain)
    with pytest.raises(ClientError) as exc:
        lattice.start_domain_verification(domainName=domain.upper())
    error = _error(exc)
    assert (error["Code"], error["status"]) == ("ConflictException", 409)
    assert (error["resourceType"], error["resourceId"]) == ("DOMAIN_VERIFICATION", started["id"])


def test_domain_must_be_fully_qualified(lattice: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.start_domain_verification(domainName="localhost")
    error = _error(exc)
    assert (error["Code"], error["status"]) == ("ValidationException", 400)
    assert [f["name"] for f in error["fieldList"]] == ["domainName"]


def test_quota_per_region(make_server: Any) -> None:
    server = make_server("--quota", "domain_verifications_per_region=1")
    lattice = server.client()
    lattice.start_domain_verification(domainName="one.example.com")
    with pytest.raises(ClientError) as exc:
        lattice.start_domain_verification(domainName="two.example.com")
    error = _error(exc)
    assert (error["Code"], error["status"], error["resourceType"]) == (
        "ServiceQuotaExceededException",
        402,
        "DOMAIN_VERIFICATION",
    )
    assert error["quotaCode"] == "L-73D0F278"
    assert server.client(region="eu-west-1").start_domain_verification(domainName="two.example.com")["id"]


def test_list_pages_and_shows_the_challenge(make_server: Any) -> None:
    lattice = make_server().client()
    made = [lattice.start_domain_verification(domainName=f"d{i}.example.com", tags={"n": str(i)}) for i in range(3)]
    first = lattice.list_domain_verifications(maxResults=2)
    rest = lattice.list_domain_verifications(nextToken=first["nextToken"])
    items = first["items"] + rest["items"]
    assert "nextToken" not in rest
    assert [i["id"] for i in items] == [m["id"] for m in made]
    assert items[2]["tags"] == {"n": "2"} and items[2]["txtMethodConfig"] == made[2]["txtMethodConfig"]
    assert set(items[0]) == {"arn", "createdAt", "domainName", "id", "status", "tags", "txtMethodConfig"}


def test_delete_answers_an_empty_200_and_forgets(lattice: Any, unique: Any) -> None:
    started = lattice.start_domain_verification(domainName=_domain(unique))
    deleted = lattice.delete_domain_verification(domainVerificationIdentifier=started["id"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200 and _body(deleted) == {}
    for call in (lattice.get_domain_verification, lattice.delete_domain_verification):
        with pytest.raises(ClientError) as exc:
            call(domainVerificationIdentifier=started["id"])
        error = _error(exc)
        assert (error["Code"], error["status"], error["resourceType"]) == (
            "ResourceNotFoundException",
            404,
            "DOMAIN_VERIFICATION",
        )


def test_client_token_makes_start_idempotent(lattice: Any, unique: Any) -> None:
    domain = _domain(unique)
    first = lattice.start_domain_verification(domainName=domain, clientToken=domain)
    again = lattice.start_domain_verification(domainName=domain, clientToken=domain)
    assert (again["id"], again["txtMethodConfig"]) == (first["id"], first["txtMethodConfig"])
