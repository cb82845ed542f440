"""TLS for HTTPS listeners: real handshakes on 127.0.0.1 between an asyncio server using SniRouter and ssl
clients (certificate chosen by SNI, wildcards, no fallback, SNI required, TLS 1.2/1.3 only, ALPN), plus in-memory
handshakes that read the exact alert the router sends."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from latticework.pki.ca import IssuedCertificate, LocalCA
from latticework.pki.tls import (
    LATTICE_TLS12_CIPHERS,
    LATTICE_TLS13_CIPHERS,
    SniRouter,
    SniSelection,
    client_context_trusting,
    server_context,
)

ACCOUNT = "123456789012"
REGION = "us-west-2"
SERVICE_NAME = "orders-0285b53b2eexample.7d67968.vpc-lattice-svcs.us-west-2.on.aws"


@dataclass
class Certs:
    ca: LocalCA
    apex: IssuedCertificate  # example.com, *.example.com
    api: IssuedCertificate  # api.example.net
    managed: IssuedCertificate  # *.7d67968.vpc-lattice-svcs.us-west-2.on.aws


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    ca = LocalCA(tmp_path_factory.mktemp("tls") / "pki")
    return Certs(
        ca,
        ca.issue(["example.com", "*.example.com"], ACCOUNT, REGION),
        ca.issue(["api.example.net"], ACCOUNT, REGION),
        ca.certificate_for_service_name(SERVICE_NAME, account=ACCOUNT),
    )


def lookup_in(ca: LocalCA) -> Callable[[str], IssuedCertificate | None]:
    """How the relay finds a certificate: the managed one for generated names, else by host in the account."""

    def lookup(host: str) -> IssuedCertificate | None:
        if host.endswith(".on.aws"):
            return ca.certificate_for_service_name(host, account=ACCOUNT)
        return ca.find_for_host(host, ACCOUNT, REGION)

    return lookup


@dataclass
class Server:
    port: int
    router: SniRouter
    accepted: list[tuple[SniSelection | None, str | None, str | None]] = field(default_factory=list)


@pytest.fixture(scope="module")
def server(certs: Certs) -> Iterator[Server]:
    """An asyncio TLS server on 127.0.0.1 (its own loop in a thread) that answers b'ok' after the handshake."""
    router = SniRouter(lookup_in(certs.ca))
    loop = asyncio.new_event_loop()
    state = Server(0, router)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tls = writer.get_extra_info("ssl_object")
        state.accepted.append((router.selection(tls), tls.version(), tls.selected_alpn_protocol()))
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    listener = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0, ssl=router.context))
    state.port = listener.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield state
    loop.call_soon_threadsafe(listener.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


@dataclass(frozen=True)
class Reply:
    sans: list[str]
    version: str | None
    cipher: str
    alpn: str | None
    body: bytes


def connect(server: Server, context: ssl.SSLContext, server_name: str | None) -> Reply:
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        peer = tls.getpeercert()
        assert peer is not None
        sans = [str(entry[1]) for entry in peer["subjectAltName"] if entry[0] == "DNS"]
        cipher = tls.cipher()
        assert cipher is not None
        return Reply(sans, tls.version(), cipher[0], tls.selected_alpn_protocol(), tls.recv(16))


def client(certs: Certs, **settings: object) -> ssl.SSLContext:
    context = client_context_trusting(certs.ca.bundle_path, alpn=["h2", "http/1.1"])
    for name, value in settings.items():
        setattr(context, name, value)
    return context


@pytest.mark.parametrize(
    ("server_name", "expected_sans"),
    [
        ("example.com", ["example.com", "*.example.com"]),
        ("api.example.net", ["api.example.net"]),
        ("API.Example.NET", ["api.example.net"]),
        ("www.example.com", ["example.com", "*.example.com"]),  # covered by the wildcard
        (SERVICE_NAME, ["*.7d67968.vpc-lattice-svcs.us-west-2.on.aws"]),  # generated name, managed certificate
    ],
)
def test_certificate_is_chosen_by_sni(certs: Certs, server: Server, server_name: str, expected_sans: list[str]) -> None:
    reply = connect(server, client(certs), server_name)
    assert reply.sans == expected_sans
    assert reply.body == b"ok"


def test_selection_reports_the_server_name_and_certificate(certs: Certs, server: Server) -> None:
    server.accepted.clear()
    connect(server, client(certs), "Www.Example.com")
    assert server.accepted == [(SniSelection("www.example.com", certs.apex), "TLSv1.3", "http/1.1")]


@pytest.mark.parametrize(
    "server_name",
    [
        "a.b.example.com",  # a wildcard covers one label only
        "unknown.example.org",  # no certificate at all
        "orders-1.7d67968.vpc-lattice-svcs.us-east-1.on.aws.example.org",
    ],
)
def test_a_name_no_certificate_covers_fails_the_handshake(certs: Certs, server: Server, server_name: str) -> None:
    context = client(certs, check_hostname=False)  # so that only the server can refuse
    with pytest.raises((ssl.SSLError, ConnectionError)):
        connect(server, context, server_name)


def test_no_sni_fails_the_handshake(certs: Certs, server: Server) -> None:
    with pytest.raises((ssl.SSLError, ConnectionError)):
        connect(server, client(certs, check_hostname=False), None)


def test_the_server_still_serves_after_refusals(certs: Certs, server: Server) -> None:
    with pytest.raises((ssl.SSLError, ConnectionError)):
        connect(server, client(certs, check_hostname=False), "nobody.example.org")
    assert connect(server, client(certs), "example.com").body == b"ok"


def test_tls_1_3_uses_a_policy_suite(certs: Certs, server: Server) -> None:
    reply = connect(server, client(certs), "example.com")
    assert reply.version == "TLSv1.3"
    assert reply.cipher in LATTICE_TLS13_CIPHERS


def test_tls_1_2_uses_the_first_policy_cipher(certs: Certs, server: Server) -> None:
    """The server's order wins: ECDHE-RSA-AES128-GCM-SHA256, the first of Lattice's TLS 1.2 list."""
    reply = connect(server, client(certs, maximum_version=ssl.TLSVersion.TLSv1_2), "example.com")
    assert (reply.version, reply.cipher) == ("TLSv1.2", LATTICE_TLS12_CIPHERS[0])


@pytest.mark.parametrize("cipher", ["AES256-SHA", "ECDHE-RSA-AES256-GCM-SHA384"])
def test_tls_1_2_accepts_other_policy_ciphers(certs: Certs, server: Server, cipher: str) -> None:
    context = client(certs, maximum_version=ssl.TLSVersion.TLSv1_2)
    context.set_ciphers(cipher)
    assert connect(server, context, "example.com").cipher == cipher


def test_tls_1_2_refuses_ciphers_outside_the_policy(certs: Certs, server: Server) -> None:
    context = client(certs, maximum_version=ssl.TLSVersion.TLSv1_2)
    context.set_ciphers("ECDHE-RSA-CHACHA20-POLY1305")
    with pytest.raises(ssl.SSLError):
        connect(server, context, "example.com")


def tls_1_1_client(certs: Certs) -> ssl.SSLContext:
    context = client_context_trusting(certs.ca.bundle_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 needs level 0 for TLS 1.1 at all
    return context


def test_tls_1_1_is_refused(certs: Certs, server: Server) -> None:
    with pytest.raises((ssl.SSLError, ConnectionError)):
        connect(server, tls_1_1_client(certs), "example.com")


def test_alpn_offers_http_1_1_only(certs: Certs, server: Server) -> None:
    assert connect(server, client(certs), "example.com").alpn == "http/1.1"


def test_certificates_pass_strict_x509_verification(certs: Certs, server: Server) -> None:
    context = client(certs)
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    assert connect(server, context, "www.example.com").body == b"ok"


def test_a_client_not_trusting_the_ca_refuses_the_server(server: Server) -> None:
    context = ssl.create_default_context(cafile=None, capath=None, cadata=None)
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(server, context, "example.com")


# -- in-memory handshakes: the exact alert the client receives ----------------------------------------------


def handshake(client_context: ssl.SSLContext, server_ctx: ssl.SSLContext, server_name: str | None) -> str | None:
    """Drive a client and a server SSLObject over memory BIOs; the client's error reason, or None on success."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls_client = client_context.wrap_bio(to_client, to_server, server_hostname=server_name)
    server_in, server_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls_server = server_ctx.wrap_bio(server_in, server_out, server_side=True)
    client_done = server_failed = False
    for _ in range(8):
        try:
            tls_client.do_handshake()
            client_done = True
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as exc:
            return str(exc.reason)
        server_in.write(to_server.read())
        if not server_failed:
            try:
                tls_server.do_handshake()
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError:
                server_failed = True
        to_client.write(server_out.read())
        if client_done:
            return None
    raise AssertionError("handshake did not finish")


@pytest.fixture
def router(certs: Certs) -> SniRouter:
    return SniRouter(lookup_in(certs.ca))


def test_unknown_name_gets_unrecognized_name_alert(certs: Certs, router: SniRouter) -> None:
    assert handshake(client(certs, check_hostname=False), router.context, "nobody.example.org") == (
        "TLSV1_UNRECOGNIZED_NAME"
    )


def test_missing_sni_gets_missing_extension_alert(certs: Certs, router: SniRouter) -> None:
    """RFC 8446 9.2: missing_extension in TLS 1.3; OpenSSL sends handshake_failure for it in TLS 1.2."""
    context = client(certs, check_hostname=False)
    assert handshake(context, router.context, None) == "TLSV13_ALERT_MISSING_EXTENSION"
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    assert handshake(context, router.context, None) == "SSLV3_ALERT_HANDSHAKE_FAILURE"


def test_tls_1_1_gets_protocol_version_alert(certs: Certs, router: SniRouter) -> None:
    assert handshake(tls_1_1_client(certs), router.context, "example.com") == "TLSV1_ALERT_PROTOCOL_VERSION"


def test_the_tls_1_1_client_does_work_against_a_permissive_server(certs: Certs) -> None:
    """Control for the test above: the client really offers TLS 1.1, so the refusal is the router's policy."""
    permissive = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        permissive.minimum_version = ssl.TLSVersion.TLSv1
    permissive.set_ciphers("DEFAULT:@SECLEVEL=0")
    permissive.load_cert_chain(certs.apex.certificate_path, certs.apex.private_key_path)
    assert handshake(tls_1_1_client(certs), permissive, "example.com") is None


def test_a_certificate_that_does_not_cover_the_name_is_not_served(certs: Certs) -> None:
    """No fallback: even if the lookup answers with some certificate, it must cover the requested name."""
    router = SniRouter(lambda host: certs.api)
    context = client(certs, check_hostname=False)
    assert handshake(context, router.context, "example.com") == "TLSV1_UNRECOGNIZED_NAME"
    assert handshake(context, router.context, "api.example.net") is None


def test_a_failing_lookup_gets_internal_error(certs: Certs, caplog: pytest.LogCaptureFixture) -> None:
    def broken(host: str) -> IssuedCertificate | None:
        raise RuntimeError("index unreadable")

    router = SniRouter(broken)
    assert handshake(client(certs), router.context, "example.com") == "TLSV1_ALERT_INTERNAL_ERROR"
    assert "certificate lookup failed for server name 'example.com'" in caplog.text


def test_lookup_gets_the_normalised_name(certs: Certs) -> None:
    asked: list[str] = []

    def lookup(host: str) -> IssuedCertificate | None:
        asked.append(host)
        return certs.apex

    assert handshake(client(certs), SniRouter(lookup).context, "WWW.Example.COM") is None
    assert asked == ["www.example.com"]


def test_server_context_is_cached_per_certificate(certs: Certs) -> None:
    assert server_context(certs.apex) is server_context(certs.apex)
    assert server_context(certs.apex) is not server_context(certs.api)
    context = server_context(certs.apex)
    assert (context.minimum_version, context.maximum_version) == (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)
    tls12 = [cipher["name"] for cipher in context.get_ciphers() if cipher["protocol"] != "TLSv1.3"]
    assert tls12 == list(LATTICE_TLS12_CIPHERS)


def test_client_context_trusting_checks_host_names(certs: Certs) -> None:
    """Against a server that always shows example.com's certificate, asking for api.example.net fails."""
    context = client_context_trusting(Path(certs.ca.bundle_path))
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert handshake(context, server_context(certs.apex), "www.example.com") is None
    assert handshake(context, server_context(certs.apex), "api.example.net") == "CERTIFICATE_VERIFY_FAILED"
