"""Services through boto3 against a real server: shapes, DNS names, lifecycle, updates, deletes."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

DNS = re.compile(r"(?P<name>[a-z0-9-]+)-(?P<id>0[0-9a-f]{16})\.[0-9a-f]{7}\.vpc-lattice-svcs\.us-west-2\.on\.aws")


def test_create_returns_dns_entry_and_create_in_progress(lattice: Any, unique: Any) -> None:
    name = unique("checkout")
    created = lattice.create_service(name=name, customDomainName="checkout.example.com")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["status"] == "CREATE_IN_PROGRESS"
    match = DNS.fullmatch(created["dnsEntry"]["domainName"])
    assert match and match["name"] == name and f"svc-{match['id']}" == created["id"]
    assert re.fullmatch(r"Z[0-9A-F]{20}", created["dnsEntry"]["hostedZoneId"])
    assert created["customDomainName"] == "checkout.example.com"
    assert "certificateArn" not in created


def test_get_shows_active_with_defaults(lattice: Any, unique: Any) -> None:
    created = lattice.create_service(name=unique("orders"))
    got = lattice.get_service(serviceIdentifier=created["arn"])
    assert got["status"] == "ACTIVE"
    assert got["authType"] == "NONE"
    assert got["dnsEntry"] == created["dnsEntry"]


def test_status_lifecycle_follows_provisioning_delay(make_server: Any) -> None:
    lattice = make_server("--provisioning-seconds", "0.6").client()
    created = lattice.create_service(name="slow-one")
    assert lattice.get_service(serviceIdentifier=created["id"])["status"] == "CREATE_IN_PROGRESS"
    with pytest.raises(ClientError) as exc:
        lattice.delete_service(serviceIdentifier=created["id"])
    assert exc.value.response["Error"]["Code"] == "ConflictException"
    time.sleep(0.7)
    assert lattice.get_service(serviceIdentifier=created["id"])["status"] == "ACTIVE"
    assert lattice.delete_service(serviceIdentifier=created["id"])["status"] == "DELETE_IN_PROGRESS"


def test_update_auth_type_and_certificate(lattice: Any, unique: Any) -> None:
    created = lattice.create_service(name=unique("cart"), customDomainName="cart.example.com")
    cert = "arn:aws:acm:us-west-2:000000000000:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
    updated = lattice.update_service(serviceIdentifier=created["id"], authType="AWS_IAM", certificateArn=cert)
    assert updated["authType"] == "AWS_IAM" and updated["certificateArn"] == cert
    got = lattice.get_service(serviceIdentifier=created["id"])
    assert got["certificateArn"] == cert and got["lastUpdatedAt"] >= got["createdAt"]


def test_certificate_without_custom_domain_is_rejected(lattice: Any, unique: Any) -> None:
    cert = "arn:aws:acm:us-west-2:000000000000:certificate/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab"
    with pytest.raises(ClientError) as exc:
        lattice.create_service(name=unique("nocert"), certificateArn=cert)
    response = exc.value.response
    assert response["Error"]["Code"] == "ValidationException"
    assert [f["name"] for f in response["fieldList"]] == ["certificateArn"]


def test_delete_returns_delete_in_progress_then_404(lattice: Any, unique: Any) -> None:
    created = lattice.create_service(name=unique("gone"))
    deleted = lattice.delete_service(serviceIdentifier=created["id"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert {deleted["arn"], deleted["id"], deleted["status"]} == {
        created["arn"],
        created["id"],
        "DELETE_IN_PROGRESS",
    }
    with pytest.raises(ClientError) as exc:
        lattice.get_service(serviceIdentifier=created["id"])
    assert exc.value.response["resourceType"] == "SERVICE"


def test_quota_is_configurable_and_raises_402(make_server: Any) -> None:
    server = make_server("--quota", "services_per_region=2")
    lattice = server.client()
    lattice.create_service(name="one-svc")
    lattice.create_service(name="two-svc")
    with pytest.raises(ClientError) as exc:
        lattice.create_service(name="three-svc")
    response = exc.value.response
    assert response["Error"]["Code"] == "ServiceQuotaExceededException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 402
    assert response["serviceCode"] == "vpc-lattice" and response["quotaCode"] == "L-620C821E"
    # Quotas count per account and region, as on AWS.
    assert server.client(region="eu-west-1").create_service(name="three-svc")["status"] == "CREATE_IN_PROGRESS"
