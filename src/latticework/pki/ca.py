"""The local certificate authority: a CA key and certificate in the state directory, and the leaf certificates
it issues for HTTPS listeners (ACM's role for Lattice).

Owns the files under DIRECTORY (the server passes STATE_DIR/pki):

    ca.pem, ca-key.pem                 the CA certificate (the bundle clients trust) and its key (0600)
    certificates/<uuid>.pem, -key.pem  each leaf certificate and its key (0600)
    certificates.json                  the index: one entry per ARN, and the managed certificate per wildcard name

Every file is written to a temporary name and moved into place with os.replace, so another process (the data
plane, the CLI) never reads half a file; writers serialise on an fcntl.flock of `.lock`. Readers take no lock
and re-read the index when it has been replaced. File I/O and key generation only: the name rules live in
names.py, and nothing here opens sockets or imports ssl.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import json
import os
import re
import tempfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from latticework.pki.names import covers, normalize, validate_domains, wildcard_for

__all__ = ["DEFAULT_ACCOUNT", "IssuedCertificate", "LocalCA", "service_name_wildcard"]

DEFAULT_ACCOUNT = "000000000000"
# ACM: certificates it issues are valid for 13 months (395 days).
LEAF_VALIDITY = timedelta(days=395)
CA_VALIDITY = timedelta(days=3650)
# Allow for clocks a little behind ours (the CLI and the data plane may run in different containers).
BACKDATE = timedelta(minutes=5)
# ACM User Guide, "Managed certificate renewal": renewal starts 60 days before expiry.
RENEW_BEFORE = timedelta(days=60)
# Lattice BYOC: "RSA 2048" keys only.
KEY_SIZE = 2048

_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_INDEX_VERSION = 1


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """One leaf certificate: its ACM-style ARN, names, validity and where its PEM files are."""

    arn: str
    domains: tuple[str, ...]  # SANs in order; the first is also the CN
    account: str
    region: str
    serial: str  # hex
    not_before: datetime
    not_after: datetime
    certificate_path: Path
    private_key_path: Path
    chain_path: Path  # the CA bundle that signed it
    managed: bool = False  # issued automatically for generated service names

    @property
    def domain_name(self) -> str:
        return self.domains[0]

    def covers(self, host: str) -> bool:
        return covers(self.domains, host)

    def valid_at(self, now: datetime) -> bool:
        return self.not_before <= now < self.not_after

    def describe(self) -> dict[str, Any]:
        """ACM DescribeCertificate-like fields (camelCase, timestamps ISO 8601) plus the local file paths."""
        return {
            "certificateArn": self.arn,
            "domainName": self.domain_name,
            "subjectAlternativeNames": list(self.domains),
            "account": self.account,
            "region": self.region,
            "serial": self.serial,
            "notBefore": self.not_before.isoformat(),
            "notAfter": self.not_after.isoformat(),
            "managed": self.managed,
            "certificatePath": str(self.certificate_path),
            "privateKeyPath": str(self.private_key_path),
            "chainPath": str(self.chain_path),
        }


def service_name_wildcard(dns_name: str) -> str:
    """`*.7d67968.vpc-lattice-svcs.us-west-2.on.aws` for a generated service name under it; ValueError otherwise.

    User Guide: generated names look like `name-0285b53b2eexample.7d67968.vpc-lattice-svcs.us-east-2.on.aws`.
    """
    labels = normalize(dns_name).split(".")
    if len(labels) != 6 or labels[2] != "vpc-lattice-svcs" or labels[4:] != ["on", "aws"] or "" in labels:
        raise ValueError(
            f"{dns_name!r} is not a generated service name (NAME.PARTITION.vpc-lattice-svcs.REGION.on.aws)"
        )
    return wildcard_for(".".join(labels))


class LocalCA:
    """A CA kept in DIRECTORY, created on first use, that issues and indexes leaf certificates.

    Safe to share between processes (flock on DIRECTORY/.lock) and between threads of one process.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = Path(directory)
        self._thread_lock = threading.Lock()
        self._index_stamp: tuple[int, int, int] | None = None
        self._index: _Index = _Index({}, {})
        self._ca: tuple[x509.Certificate, rsa.RSAPrivateKey] | None = None

    @property
    def directory(self) -> Path:
        return self._directory

    @property
    def bundle_path(self) -> Path:
        """The CA certificate (PEM) that clients trust; creates the CA if this is the first use."""
        self._load_ca()
        return self._directory / "ca.pem"

    def issue(
        self, domains: Sequence[str], account: str, region: str, *, now: datetime | None = None
    ) -> IssuedCertificate:
        """Issue an RSA-2048 serverAuth certificate for DOMAINS (SANs; the first also the CN), valid 13 months.

        ValueError if a domain, the account (12 digits) or the region is not acceptable.
        """
        checked = validate_domains(domains)
        _check_account_region(account, region)
        ca = self._load_ca()
        with self._locked():
            cert = self._issue(ca, checked, account, region, now or _utcnow(), managed=False)
            self._write_index(self._index.adding(cert))
        return cert

    def get(self, arn: str) -> IssuedCertificate | None:
        """The certificate with ARN, or None."""
        return self._read_index().certificates.get(arn)

    def find_for_host(
        self, host: str, account: str, region: str, *, now: datetime | None = None
    ) -> IssuedCertificate | None:
        """The best certificate of ACCOUNT in REGION covering HOST and valid now: an exact name beats a wildcard,
        then the one that expires last. None if no certificate covers HOST (there is no fallback, as on AWS)."""
        moment = now or _utcnow()
        candidates = [
            cert
            for cert in self._read_index().certificates.values()
            if cert.account == account and cert.region == region and cert.valid_at(moment) and cert.covers(host)
        ]
        if not candidates:
            return None
        host = normalize(host)
        return max(candidates, key=lambda cert: (host in cert.domains, cert.not_after))

    def certificate_for_service_name(
        self, dns_name: str, *, account: str = DEFAULT_ACCOUNT, now: datetime | None = None
    ) -> IssuedCertificate:
        """The managed certificate for a generated service name: one wildcard per partition and region
        (`*.7d67968.vpc-lattice-svcs.us-west-2.on.aws`), issued once, cached in the index, and issued again
        once it is within 60 days of expiry (as ACM renews). ValueError if DNS_NAME is not a generated name.

        Deviation: Lattice's own managed certificate is not visible in the account's ACM; here it is listed,
        with `managed` true, so that it can be inspected.
        """
        wildcard = service_name_wildcard(dns_name)
        region = wildcard.split(".")[3]
        _check_account_region(account, region)
        moment = now or _utcnow()
        current = self._managed(self._read_index(), wildcard, moment)
        if current is not None:
            return current
        ca = self._load_ca()
        with self._locked():
            current = self._managed(self._index, wildcard, moment)
            if current is None:
                current = self._issue(ca, (wildcard,), account, region, moment, managed=True)
                self._write_index(self._index.adding(current, managed_name=wildcard))
        return current

    def list(self) -> builtins.list[IssuedCertificate]:
        """Every certificate in the index, in the order they were issued."""
        return builtins.list(self._read_index().certificates.values())

    # -- the CA --------------------------------------------------------------------------------------------

    def _load_ca(self) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        if self._ca is None:
            cert_path, key_path = self._directory / "ca.pem", self._directory / "ca-key.pem"
            if not (cert_path.exists() and key_path.exists()):
                with self._locked():
                    if not (cert_path.exists() and key_path.exists()):
                        _create_ca(cert_path, key_path, _utcnow())
            self._ca = _read_ca(cert_path, key_path)
        return self._ca

    def _issue(
        self,
        ca: tuple[x509.Certificate, rsa.RSAPrivateKey],
        domains: tuple[str, ...],
        account: str,
        region: str,
        now: datetime,
        *,
        managed: bool,
    ) -> IssuedCertificate:
        """Generate, sign and write one leaf (the caller holds the lock and then records it in the index)."""
        ca_cert, ca_key = ca
        certificate_id = str(uuid.uuid4())
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
        leaf = _build_leaf(domains, key, ca_cert, ca_key, now)
        folder = self._directory / "certificates"
        folder.mkdir(mode=0o700, exist_ok=True)
        key_path, cert_path = folder / f"{certificate_id}-key.pem", folder / f"{certificate_id}.pem"
        _write_atomic(key_path, _key_pem(key), mode=0o600)
        _write_atomic(cert_path, leaf.public_bytes(serialization.Encoding.PEM), mode=0o644)
        return IssuedCertificate(
            arn=f"arn:aws:acm:{region}:{account}:certificate/{certificate_id}",
            domains=domains,
            account=account,
            region=region,
            serial=format(leaf.serial_number, "x"),
            not_before=leaf.not_valid_before_utc,
            not_after=leaf.not_valid_after_utc,
            certificate_path=cert_path,
            private_key_path=key_path,
            chain_path=self._directory / "ca.pem",
            managed=managed,
        )

    # -- the index -----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold this process's thread lock and the directory's flock; the index is fresh inside."""
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._thread_lock, open(self._directory / ".lock", "a+b") as lock_file:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            try:
                self._read_index()
                yield
            finally:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    def _read_index(self) -> _Index:
        path = self._directory / "certificates.json"
        try:
            status = path.stat()
        except FileNotFoundError:
            self._index_stamp, self._index = None, _Index({}, {})
            return self._index
        stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
        if stamp != self._index_stamp:
            doc = json.loads(path.read_text(encoding="utf-8"))
            self._index = _Index.from_json(doc, self._directory)
            self._index_stamp = stamp
        return self._index

    def _write_index(self, index: _Index) -> None:
        text = json.dumps(index.to_json(self._directory), indent=2, sort_keys=True) + "\n"
        _write_atomic(self._directory / "certificates.json", text.encode(), mode=0o644)
        self._index_stamp = None
        self._index = index

    @staticmethod
    def _managed(index: _Index, wildcard: str, now: datetime) -> IssuedCertificate | None:
        arn = index.managed.get(wildcard)
        cert = index.certificates.get(arn) if arn else None
        if cert is None or not cert.valid_at(now) or cert.not_after - now <= RENEW_BEFORE:
            return None
        return cert


@dataclass(frozen=True, slots=True)
class _Index:
    certificates: dict[str, IssuedCertificate]  # by ARN
    managed: dict[str, str]  # wildcard name -> ARN of its current managed certificate

    def adding(self, cert: IssuedCertificate, *, managed_name: str | None = None) -> _Index:
        managed = dict(self.managed)
        if managed_name is not None:
            managed[managed_name] = cert.arn
        return _Index({**self.certificates, cert.arn: cert}, managed)

    def to_json(self, directory: Path) -> dict[str, Any]:
        return {
            "version": _INDEX_VERSION,
            "certificates": [_entry_json(cert, directory) for cert in self.certificates.values()],
            "managed": self.managed,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], directory: Path) -> _Index:
        if doc.get("version") != _INDEX_VERSION:
            raise ValueError(f"{directory / 'certificates.json'}: unknown index version {doc.get('version')!r}")
        certificates = [_entry_from_json(entry, directory) for entry in doc["certificates"]]
        return cls({cert.arn: cert for cert in certificates}, dict(doc["managed"]))


def _entry_json(cert: IssuedCertificate, directory: Path) -> dict[str, Any]:
    """An index entry: paths relative to DIRECTORY, so the state directory can move."""
    entry = cert.describe()
    for name in ("certificatePath", "privateKeyPath", "chainPath"):
        entry[name] = str(Path(entry[name]).relative_to(directory))
    return entry


def _entry_from_json(entry: dict[str, Any], directory: Path) -> IssuedCertificate:
    return IssuedCertificate(
        arn=entry["certificateArn"],
        domains=tuple(entry["subjectAlternativeNames"]),
        account=entry["account"],
        region=entry["region"],
        serial=entry["serial"],
        not_before=datetime.fromisoformat(entry["notBefore"]),
        not_after=datetime.fromisoformat(entry["notAfter"]),
        certificate_path=directory / entry["certificatePath"],
        private_key_path=directory / entry["privateKeyPath"],
        chain_path=directory / entry["chainPath"],
        managed=bool(entry["managed"]),
    )


# -- X.509 -------------------------------------------------------------------------------------------------


def _create_ca(cert_path: Path, key_path: Path, now: datetime) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    key_id = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Latticework"),
            # A short key ID tells apart the CAs of different state directories in a trust store.
            x509.NameAttribute(NameOID.COMMON_NAME, f"Latticework local CA {key_id.digest.hex()[:8]}"),
        ]
    )
    usage = dict.fromkeys(_KEY_USAGE_FLAGS, False) | {"key_cert_sign": True, "crl_sign": True}
    cert = (
        _builder(name, name, key.public_key(), now, CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(key_id, critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_atomic(key_path, _key_pem(key), mode=0o600)
    _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)


def _read_ca(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{key_path}: expected an RSA private key")
    return cert, key


def _build_leaf(
    domains: tuple[str, ...],
    key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    ca_key: rsa.RSAPrivateKey,
    now: datetime,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domains[0])])
    usage = dict.fromkeys(_KEY_USAGE_FLAGS, False) | {"digital_signature": True, "key_encipherment": True}
    ca_key_id = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        _builder(subject, ca_cert.subject, key.public_key(), now, LEAF_VALIDITY)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in domains]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**usage), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_key_id), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


_KEY_USAGE_FLAGS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: rsa.RSAPublicKey, now: datetime, validity: timedelta
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + validity)
    )


def _key_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


# -- files -------------------------------------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes, *, mode: int) -> None:
    """Write DATA to a temporary file beside PATH created with MODE, fsync it, and move it onto PATH."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _check_account_region(account: str, region: str) -> None:
    if not _ACCOUNT.fullmatch(account):
        raise ValueError(f"account {account!r} must be 12 digits")
    if not _REGION.fullmatch(region):
        raise ValueError(f"region {region!r} must be lower-case letters, digits and '-', like us-west-2")


def _utcnow() -> datetime:
    return datetime.now(UTC)
