"""What a process needs to live in a VPC: its ingress as HTTP(S) proxy and the local CA as trust anchor, as
environment variables (`latticework vpc env` prints them; ECS-style tasks start with them). Pure."""

from __future__ import annotations

from pathlib import Path

__all__ = ["NO_PROXY", "vpc_environment"]

# The variables curl, requests, httpx, urllib, Node and the AWS SDKs read for proxies and trust anchors.
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
_CA_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")
# Loopback stays direct: the API endpoint and local targets are not Lattice services.
NO_PROXY = "localhost,127.0.0.1,::1"


def vpc_environment(port: int, ca_bundle: Path) -> dict[str, str]:
    """The variables for a process whose Lattice traffic goes through the ingress on `port`. Pure."""
    proxy = f"http://127.0.0.1:{port}"
    env = dict.fromkeys(_PROXY_VARIABLES, proxy)
    env.update(NO_PROXY=NO_PROXY, no_proxy=NO_PROXY)
    env.update(dict.fromkeys(_CA_VARIABLES, str(ca_bundle)))
    return env
