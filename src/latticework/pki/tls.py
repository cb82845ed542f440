"""TLS for HTTPS listeners: server SSL contexts for issued certificates, one SNI-routing server context that
picks the certificate by the ClientHello's server name, and a client context trusting the local CA.

The only module of latticework.pki that imports ssl. It holds no sockets and no event loop: the relay hands
`SniRouter.context` to asyncio and reads the choice back with `SniRouter.selection`.

AWS behaviour followed (reference 2.3, Lattice User Guide "HTTPS listeners"):
- TLS 1.2 and 1.3 only; the TLS 1.2 cipher list and order of Lattice's documented policy.
- SNI is required; the certificate is chosen by it, and there is no fallback certificate: a name no certificate
  covers, or a ClientHello without SNI, fails the handshake.
- ALPN offers http/1.1 (h2 comes with HTTP/2 support; `alpn=` already takes it).
"""

from __future__ import annotations

import functools
import logging
import ssl
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from latticework.pki.names import normalize

if TYPE_CHECKING:
    from latticework.pki.ca import IssuedCertificate

__all__ = [
    "DEFAULT_ALPN",
    "LATTICE_TLS12_CIPHERS",
    "LATTICE_TLS13_CIPHERS",
    "CertificateLookup",
    "SniRouter",
    "SniSelection",
    "client_context_trusting",
    "server_context",
]

logger = logging.getLogger(__name__)

# Lattice User Guide, "HTTPS listeners", security policy: TLS 1.2 ciphers in order (OpenSSL names).
LATTICE_TLS12_CIPHERS = (
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-SHA",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-SHA",
    "AES128-GCM-SHA256",
    "AES128-SHA",
    "AES256-GCM-SHA384",
    "AES256-SHA",
)
# The TLS 1.3 suites of the same policy. Python's ssl cannot set TLS 1.3 suites, and OpenSSL's default set is
# exactly these three (its order prefers AES-256); listed here for reference and for the tests.
LATTICE_TLS13_CIPHERS = ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256")
DEFAULT_ALPN = ("http/1.1",)
# RFC 8446 9.2: a server that requires SNI answers a ClientHello without it with missing_extension (109).
ALERT_MISSING_EXTENSION = 109

CertificateLookup = Callable[[str], "IssuedCertificate | None"]


@dataclass(frozen=True, slots=True)
class SniSelection:
    """What the SNI callback chose for one connection: the (normalised) server name and its certificate."""

    server_name: str
    certificate: IssuedCertificate


def server_context(cert: IssuedCertificate, *, alpn: Sequence[str] = DEFAULT_ALPN) -> ssl.SSLContext:
    """A server SSLContext serving CERT (TLS 1.2-1.3, Lattice's ciphers, ALPN), cached per certificate (ARN)."""
    return _cached_server_context(cert, tuple(alpn))


@functools.lru_cache(maxsize=1024)
def _cached_server_context(cert: IssuedCertificate, alpn: tuple[str, ...]) -> ssl.SSLContext:
    context = _policy_context(alpn)
    context.load_cert_chain(cert.certificate_path, cert.private_key_path)
    return context


def _policy_context(alpn: tuple[str, ...]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.set_ciphers(":".join(LATTICE_TLS12_CIPHERS))
    # The policy's order is the server's preference, as on ELB-style policies.
    context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    context.set_alpn_protocols(list(alpn))
    return context


class SniRouter:
    """One server SSLContext (`context`) whose SNI callback switches each connection to the context of the
    certificate LOOKUP returns for the requested name.

    The handshake fails with unrecognized_name when LOOKUP returns None or a certificate that does not cover
    the name (no fallback certificate, as on AWS), with missing_extension when the client sends no SNI, and
    with internal_error when LOOKUP raises (logged). LOOKUP gets the name lower-cased without a trailing dot; it
    runs inside the handshake, on the event loop, so it should be quick (LocalCA.get / find_for_host are).
    """

    def __init__(self, lookup: CertificateLookup, *, alpn: Sequence[str] = DEFAULT_ALPN) -> None:
        self._lookup = lookup
        self._alpn = tuple(alpn)
        self._selections: weakref.WeakKeyDictionary[ssl.SSLObject | ssl.SSLSocket, SniSelection] = (
            weakref.WeakKeyDictionary()
        )
        self.context = _policy_context(self._alpn)
        self.context.sni_callback = self._on_server_name

    def selection(self, connection: ssl.SSLObject | ssl.SSLSocket) -> SniSelection | None:
        """The server name and certificate chosen for CONNECTION (asyncio: `get_extra_info("ssl_object")`)."""
        return self._selections.get(connection)

    def _on_server_name(
        self, connection: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, _context: ssl.SSLContext
    ) -> int | None:
        if server_name is None:
            return ALERT_MISSING_EXTENSION
        name = normalize(server_name)
        try:
            cert = self._lookup(name)
        except Exception:
            logger.exception("certificate lookup failed for server name %r", name)
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        if cert is None or not cert.covers(name):
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        connection.context = server_context(cert, alpn=self._alpn)
        self._selections[connection] = SniSelection(name, cert)
        return None


def client_context_trusting(bundle_path: Path | str, *, alpn: Sequence[str] | None = None) -> ssl.SSLContext:
    """A client SSLContext that verifies servers against BUNDLE_PATH (the local CA) and checks host names."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(bundle_path))
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context
