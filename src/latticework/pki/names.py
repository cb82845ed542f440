"""Certificate domain names: validation as ACM accepts them, and matching a host name against them.

Owns the rules for which names a certificate may carry and which hosts it covers, following ACM (the
certificates Lattice uses). Pure: strings in, answers out; no I/O, no clock.

- ACM User Guide, "Wildcard names" / RequestCertificate: an asterisk may only stand as the whole left-most label
  and it matches exactly one label: `*.example.com` covers `login.example.com`, not `a.login.example.com` and not
  the bare `example.com`.
- Lattice User Guide, "Bring your own certificate": the certificate's SAN (or CN) must match the custom domain;
  one wildcard level is allowed.
- Names compare case-insensitively (RFC 4343); a trailing root dot is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "MAX_COMMON_NAME_LENGTH",
    "MAX_DOMAINS",
    "covers",
    "name_matches",
    "normalize",
    "validate_domain",
    "validate_domains",
    "wildcard_for",
]

# botocore acm model, DomainNameString: 1-253 characters with this pattern (a leading "*." is the only wildcard).
_ACM_DOMAIN = re.compile(r"(\*\.)?(((?!-)[a-z0-9-]{0,62}[a-z0-9])\.)+((?!-)[a-z0-9-]{1,62}[a-z0-9])")
_MAX_DOMAIN_LENGTH = 253
# ACM RequestCertificate, DomainName: "the length of the domain name (technically, the Common Name) ... cannot
# exceed 64 octets" (RFC 5280 ub-common-name).
MAX_COMMON_NAME_LENGTH = 64
# ACM RequestCertificate, SubjectAlternativeNames: "The maximum number of domain names ... is 100."
MAX_DOMAINS = 100


def normalize(name: str) -> str:
    """Lower-case NAME and drop one trailing root dot: the form every comparison here uses."""
    name = name.strip().lower()
    return name[:-1] if name.endswith(".") else name


def validate_domain(name: str) -> str:
    """NAME normalised, or ValueError saying why ACM would refuse it as a certificate domain name."""
    domain = normalize(name)
    if not domain or len(domain) > _MAX_DOMAIN_LENGTH:
        raise ValueError(f"domain name {name!r} must be 1 to {_MAX_DOMAIN_LENGTH} characters")
    if "*" in domain.removeprefix("*."):
        raise ValueError(f"domain name {name!r}: a wildcard is allowed only as the whole left-most label ('*.')")
    if not _ACM_DOMAIN.fullmatch(domain):
        raise ValueError(
            f"domain name {name!r} is not a fully qualified domain name: labels of letters, digits and '-' "
            "(not at either end), at most 63 characters each, at least two labels after an optional '*.'"
        )
    return domain


def validate_domains(names: Iterable[str]) -> tuple[str, ...]:
    """The domains for one certificate, normalised and de-duplicated in order; the first becomes the CN.

    ValueError if there are none, more than ACM's 100, any is invalid, or the first is too long for a CN.
    """
    domains = tuple(dict.fromkeys(validate_domain(name) for name in names))
    if not domains:
        raise ValueError("a certificate needs at least one domain name")
    if len(domains) > MAX_DOMAINS:
        raise ValueError(f"a certificate holds at most {MAX_DOMAINS} domain names, got {len(domains)}")
    if len(domains[0]) > MAX_COMMON_NAME_LENGTH:
        raise ValueError(
            f"the first domain name becomes the certificate's common name and must be at most "
            f"{MAX_COMMON_NAME_LENGTH} characters (ACM); put {domains[0]!r} after a shorter one"
        )
    return domains


def name_matches(pattern: str, host: str) -> bool:
    """Whether certificate name PATTERN covers HOST under ACM's rules (one-label, left-most wildcard only)."""
    pattern, host = normalize(pattern), normalize(host)
    if not host or "*" in host or not pattern:
        return False
    if not pattern.startswith("*."):
        # A '*' anywhere else is not a wildcard (ACM never issues such a name), so it can only fail here.
        return pattern == host
    suffix = pattern[1:]  # ".example.com"
    label, dot, rest = host.partition(".")
    return bool(label and dot) and "." + rest == suffix and "" not in suffix[1:].split(".")


def covers(certificate_domains: Iterable[str], host: str) -> bool:
    """Whether any of a certificate's domain names (its SANs) covers HOST."""
    return any(name_matches(pattern, host) for pattern in certificate_domains)


def wildcard_for(host: str) -> str:
    """The one-level wildcard that covers HOST: `a.example.com` -> `*.example.com`."""
    _, dot, rest = normalize(host).partition(".")
    if not dot or not rest:
        raise ValueError(f"{host!r} has no parent domain to put a wildcard on")
    return "*." + rest
