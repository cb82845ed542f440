"""Reads who signed an AWS request and for which region and service, from the SigV4 credential scope in the
Authorization header or a presigned URL. Only the scope: verifying signatures is the auth layer's job.
Pure."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CredentialScope", "credential_scope"]


@dataclass(frozen=True, slots=True)
class CredentialScope:
    access_key: str
    date: str
    region: str
    service: str


def credential_scope(headers: dict[str, str], query: list[tuple[str, str]]) -> CredentialScope | None:
    """`AKID/20231201/us-east-1/vpc-lattice/aws4_request` from `Authorization` or `X-Amz-Credential`."""
    authorization = headers.get("authorization", "")
    credential = None
    if authorization.startswith("AWS4-HMAC-SHA256"):
        for part in authorization[len("AWS4-HMAC-SHA256") :].split(","):
            key, _, value = part.strip().partition("=")
            if key == "Credential":
                credential = value
    else:
        credential = next((v for k, v in query if k == "X-Amz-Credential"), None)
    if not credential:
        return None
    pieces = credential.split("/")
    if len(pieces) != 5 or pieces[4] != "aws4_request":
        return None
    return CredentialScope(*pieces[:4])
