"""The local PKI behind HTTPS listeners: a certificate authority in the state directory (ca.py), ACM's domain
name rules (names.py, pure) and the TLS server side with SNI selection (tls.py, the only module here that
imports ssl).

This package face re-exports the CA and the name rules; import `latticework.pki.tls` for SSL contexts.
"""

from __future__ import annotations

from latticework.pki.ca import DEFAULT_ACCOUNT, IssuedCertificate, LocalCA, service_name_wildcard
from latticework.pki.names import covers, name_matches, validate_domain

__all__ = [
    "DEFAULT_ACCOUNT",
    "IssuedCertificate",
    "LocalCA",
    "covers",
    "name_matches",
    "service_name_wildcard",
    "validate_domain",
]
