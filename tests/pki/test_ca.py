"""The local CA: files and permissions, the leaf certificates it issues (ACM-like), its index shared between
processes, and the managed certificates for generated service names."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from latticework.pki.ca import LocalCA, service_name_wildcard

ACCOUNT = "123456789012"
REGION = "us-west-2"
ARN = re.compile(
    r"arn:aws:acm:us-west-2:123456789012:certificate/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)
SERVICE_NAME = "orders-0285b53b2eexample.7d67968.vpc-lattice-svcs.us-west-2.on.aws"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


@pytest.fixture
def ca(tmp_path: Path) -> LocalCA:
    return LocalCA(tmp_path / "pki")


def test_first_use_creates_a_self_signed_ca_with_a_private_key(ca: LocalCA) -> None:
    bundle = ca.bundle_path
    assert bundle == ca.directory / "ca.pem"
    cert = _load(bundle)
    assert cert.subject == cert.issuer
    cert.verify_directly_issued_by(cert)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca is True
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign is True
    assert _mode(ca.directory / "ca-key.pem") == 0o600
    assert _mode(ca.directory) == 0o700


def test_nothing_is_written_before_first_use(tmp_path: Path) -> None:
    ca = LocalCA(tmp_path / "pki")
    assert ca.list() == []
    assert ca.get("arn:aws:acm:us-west-2:123456789012:certificate/nope") is None
    assert not (tmp_path / "pki").exists()


def test_the_ca_is_kept_across_instances(ca: LocalCA) -> None:
    first = ca.bundle_path.read_bytes()
    assert LocalCA(ca.directory).bundle_path.read_bytes() == first


def test_issue_makes_an_rsa_2048_server_certificate_for_the_domains(ca: LocalCA) -> None:
    before = datetime.now(UTC)
    issued = ca.issue(["Example.com", "*.example.com", "api.example.net"], ACCOUNT, REGION)
    assert ARN.fullmatch(issued.arn)
    assert issued.domains == ("example.com", "*.example.com", "api.example.net")
    assert (issued.account, issued.region, issued.managed) == (ACCOUNT, REGION, False)
    leaf = _load(issued.certificate_path)
    leaf.verify_directly_issued_by(_load(ca.bundle_path))
    key = leaf.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "example.com"
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["example.com", "*.example.com", "api.example.net"]
    assert list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert format(leaf.serial_number, "x") == issued.serial
    # ACM: 13 months (395 days).
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(days=395, minutes=5)
    assert before - timedelta(minutes=6) < issued.not_before < before
    assert (issued.not_before, issued.not_after) == (leaf.not_valid_before_utc, leaf.not_valid_after_utc)


def test_issued_key_is_private_and_matches_the_certificate(ca: LocalCA) -> None:
    issued = ca.issue(["example.com"], ACCOUNT, REGION)
    assert _mode(issued.private_key_path) == 0o600
    key = serialization.load_pem_private_key(issued.private_key_path.read_bytes(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    public = _load(issued.certificate_path).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert key.public_key().public_numbers() == public.public_numbers()
    assert issued.chain_path == ca.bundle_path


def test_each_issue_is_a_new_certificate(ca: LocalCA) -> None:
    one = ca.issue(["example.com"], ACCOUNT, REGION)
    two = ca.issue(["example.com"], ACCOUNT, REGION)
    assert one.arn != two.arn and one.serial != two.serial
    assert [cert.arn for cert in ca.list()] == [one.arn, two.arn]


@pytest.mark.parametrize(
    ("domains", "account", "region", "message"),
    [
        (["localhost"], ACCOUNT, REGION, "not a fully qualified"),
        (["a.*.example.com"], ACCOUNT, REGION, "left-most"),
        ([], ACCOUNT, REGION, "at least one"),
        (["example.com"], "12345", REGION, "12 digits"),
        (["example.com"], ACCOUNT, "US West", "region"),
    ],
)
def test_issue_refuses_bad_input(ca: LocalCA, domains: list[str], account: str, region: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ca.issue(domains, account, region)
    assert ca.list() == []


def test_another_instance_sees_issued_certificates(ca: LocalCA) -> None:
    """The data plane's LocalCA sees what the CLI's issued, through the index on disk."""
    reader = LocalCA(ca.directory)
    assert reader.list() == []
    issued = ca.issue(["example.com"], ACCOUNT, REGION)
    assert reader.get(issued.arn) == issued
    later = ca.issue(["example.org"], ACCOUNT, REGION)
    assert [cert.arn for cert in reader.list()] == [issued.arn, later.arn]


def test_index_is_json_with_relative_paths_and_no_temp_files_left(ca: LocalCA) -> None:
    issued = ca.issue(["example.com"], ACCOUNT, REGION)
    doc = json.loads((ca.directory / "certificates.json").read_text())
    assert doc["version"] == 1
    assert [entry["certificateArn"] for entry in doc["certificates"]] == [issued.arn]
    assert doc["certificates"][0]["certificatePath"] == f"certificates/{issued.arn.rsplit('/', 1)[1]}.pem"
    assert not [path.name for path in ca.directory.rglob("*.tmp")]


def test_a_moved_state_directory_keeps_working(tmp_path: Path) -> None:
    issued = LocalCA(tmp_path / "a" / "pki").issue(["example.com"], ACCOUNT, REGION)
    (tmp_path / "a").rename(tmp_path / "b")
    moved = LocalCA(tmp_path / "b" / "pki").get(issued.arn)
    assert moved is not None
    assert moved.certificate_path == tmp_path / "b" / "pki" / "certificates" / issued.certificate_path.name
    assert (
        moved.certificate_path.read_bytes()
        == (tmp_path / "b" / "pki" / "certificates" / moved.certificate_path.name).read_bytes()
    )


def test_find_for_host_prefers_exact_name_then_later_expiry(ca: LocalCA) -> None:
    wildcard = ca.issue(["*.example.com"], ACCOUNT, REGION)
    exact = ca.issue(["www.example.com"], ACCOUNT, REGION)
    assert ca.find_for_host("WWW.example.com", ACCOUNT, REGION) == exact
    assert ca.find_for_host("api.example.com", ACCOUNT, REGION) == wildcard
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    newer = ca.issue(["*.example.com"], ACCOUNT, REGION, now=tomorrow)
    assert ca.find_for_host("api.example.com", ACCOUNT, REGION) == wildcard  # the newer one is not valid yet
    assert ca.find_for_host("api.example.com", ACCOUNT, REGION, now=tomorrow) == newer
    assert ca.find_for_host("www.example.com", ACCOUNT, REGION, now=tomorrow) == exact


@pytest.mark.parametrize(
    ("host", "account", "region"),
    [
        ("a.b.example.com", ACCOUNT, REGION),  # one wildcard level only
        ("example.com", ACCOUNT, REGION),  # the wildcard does not cover the bare domain
        ("api.example.com", "210987654321", REGION),  # another account's certificate
        ("api.example.com", ACCOUNT, "us-east-1"),  # ACM certificates are regional
    ],
)
def test_find_for_host_has_no_fallback(ca: LocalCA, host: str, account: str, region: str) -> None:
    ca.issue(["*.example.com"], ACCOUNT, REGION)
    assert ca.find_for_host(host, account, region) is None


def test_find_for_host_skips_expired_certificates(ca: LocalCA) -> None:
    issued = ca.issue(["example.com"], ACCOUNT, REGION)
    assert ca.find_for_host("example.com", ACCOUNT, REGION, now=issued.not_after - timedelta(seconds=1)) == issued
    assert ca.find_for_host("example.com", ACCOUNT, REGION, now=issued.not_after) is None


def test_service_name_wildcard() -> None:
    assert service_name_wildcard(SERVICE_NAME.upper()) == "*.7d67968.vpc-lattice-svcs.us-west-2.on.aws"


@pytest.mark.parametrize(
    "name",
    [
        "example.com",
        "7d67968.vpc-lattice-svcs.us-west-2.on.aws",
        "a.b.7d67968.vpc-lattice-svcs.us-west-2.on.aws",
        "orders.7d67968.vpc-lattice-rsc.us-west-2.on.aws",
        "orders..vpc-lattice-svcs.us-west-2.on.aws",
    ],
)
def test_service_name_wildcard_refuses_other_names(name: str) -> None:
    with pytest.raises(ValueError, match="not a generated service name"):
        service_name_wildcard(name)


def test_generated_names_share_one_managed_wildcard_per_partition_and_region(ca: LocalCA) -> None:
    first = ca.certificate_for_service_name(SERVICE_NAME, account=ACCOUNT)
    second = ca.certificate_for_service_name("billing-0aa.7d67968.vpc-lattice-svcs.us-west-2.on.aws", account=ACCOUNT)
    assert first == second
    assert first.domains == ("*.7d67968.vpc-lattice-svcs.us-west-2.on.aws",)
    assert first.managed and first.covers(SERVICE_NAME)
    assert ARN.fullmatch(first.arn)
    other_region = ca.certificate_for_service_name("orders-0285.1a2b3c4.vpc-lattice-svcs.us-east-1.on.aws")
    assert other_region.arn != first.arn
    assert other_region.arn.startswith("arn:aws:acm:us-east-1:000000000000:certificate/")
    assert [cert.arn for cert in ca.list()] == [first.arn, other_region.arn]


def test_managed_certificate_is_cached_on_disk(ca: LocalCA) -> None:
    issued = ca.certificate_for_service_name(SERVICE_NAME, account=ACCOUNT)
    assert LocalCA(ca.directory).certificate_for_service_name(SERVICE_NAME, account=ACCOUNT) == issued


def test_managed_certificate_is_renewed_60_days_before_expiry(ca: LocalCA) -> None:
    issued = ca.certificate_for_service_name(SERVICE_NAME, account=ACCOUNT)
    still = issued.not_after - timedelta(days=61)
    assert ca.certificate_for_service_name(SERVICE_NAME, account=ACCOUNT, now=still) == issued
    renewal_time = issued.not_after - timedelta(days=59)
    renewed = ca.certificate_for_service_name(SERVICE_NAME, account=ACCOUNT, now=renewal_time)
    assert renewed.arn != issued.arn
    assert renewed.not_after == (renewal_time + timedelta(days=395)).replace(microsecond=0)
    assert ca.certificate_for_service_name(SERVICE_NAME, account=ACCOUNT, now=renewal_time) == renewed


def test_certificate_for_service_name_refuses_custom_domains(ca: LocalCA) -> None:
    with pytest.raises(ValueError, match="not a generated service name"):
        ca.certificate_for_service_name("api.example.com")


WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from latticework.pki.ca import LocalCA
    directory, go, tag = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    while not go.exists():
        time.sleep(0.005)
    ca = LocalCA(directory)
    managed = ca.certificate_for_service_name(sys.argv[4], account="123456789012")
    arns = [ca.issue([f"{tag}{i}.example.com"], "123456789012", "us-west-2").arn for i in range(3)]
    print(json.dumps({"managed": managed.arn, "issued": arns, "ca": ca.bundle_path.read_text()}))
    """
)


@pytest.mark.slow
def test_two_processes_issuing_at_once_keep_every_certificate(tmp_path: Path) -> None:
    """Both processes create the CA, the managed certificate and three certificates each at the same moment."""
    directory, go = tmp_path / "pki", tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(directory), str(go), tag, SERVICE_NAME],
            stdout=subprocess.PIPE,
            text=True,
        )
        for tag in ("a", "b")
    ]
    time.sleep(0.5)  # both interpreters are up and polling
    go.touch()
    results = [json.loads(worker.communicate(timeout=60)[0]) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]
    assert results[0]["managed"] == results[1]["managed"]
    assert results[0]["ca"] == results[1]["ca"] == (directory / "ca.pem").read_text()
    ca = LocalCA(directory)
    issued = results[0]["issued"] + results[1]["issued"]
    assert sorted(cert.arn for cert in ca.list()) == sorted([*issued, results[0]["managed"]])
    for arn in issued:
        cert = ca.get(arn)
        assert cert is not None
        _load(cert.certificate_path).verify_directly_issued_by(_load(ca.bundle_path))
