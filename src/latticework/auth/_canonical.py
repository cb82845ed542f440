"""SigV4's canonical forms of a request path and query string, as AWS builds them for non-S3 services (IAM UG
"Create a canonical request"; botocore SigV4Auth; aws-c-auth). Pure string work, shared by nothing but `sigv4`;
kept apart because it is the part to read against the spec.
"""

from __future__ import annotations

from urllib.parse import quote, unquote_to_bytes

__all__ = ["canonical_path", "canonical_query"]

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_PATH_SAFE = _UNRESERVED | {"/"}
# Upper-case %XX escapes of every byte that is not unreserved: what canonical encoding writes.
_RESERVED_ESCAPES = frozenset(f"{byte:02X}" for byte in range(256) if chr(byte) not in _UNRESERVED)


def canonical_path(path: str) -> str:
    """Non-S3 services: dot segments and empty segments removed, then every segment URI-encoded again.

    "Each path segment must be URI-encoded twice (except for Amazon S3 which only gets URI-encoded once)"
    (IAM UG); botocore: quote(normalize_url_path(path), safe='/~'); aws-c-auth: s_append_normalized_path, then
    aws_byte_buf_append_encoding_uri_path.
    """
    if path.startswith("/") and "//" not in path and "/." not in path and _PATH_SAFE.issuperset(path):
        return path  # already canonical: nothing to remove, nothing to encode
    return quote(_remove_dot_segments(path), safe="/~")


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 5.2.4, plus "AWS services require consecutive slashes to be removed" (botocore remove_dot_segments).
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment and segment != ".":
            kept.append(segment)
    trailing = "/" if kept and path.endswith("/") else ""
    return "/" + "/".join(kept) + trailing


def canonical_query(query: str, presigned: bool) -> str:
    """Parameters decoded then URI-encoded canonically (aws-c-auth s_append_canonical_query_string), sorted by
    encoded name then value; a presigned URL's X-Amz-Signature is not part of what it signs."""
    if not query:
        return ""
    pairs: list[tuple[str, str]] = []
    for item in query.split("&"):
        name, _, value = item.partition("=")
        if item and not (presigned and name == "X-Amz-Signature"):
            pairs.append((_canonical_component(name), _canonical_component(value)))
    pairs.sort()
    return "&".join([f"{name}={value}" for name, value in pairs])


def _canonical_component(text: str) -> str:
    if (text.isascii() and text.isalnum()) or _UNRESERVED.issuperset(text) or _escaped_canonically(text):
        return text
    # Bytes, not str: a %FF that is not UTF-8 must come back as %FF.
    return quote(unquote_to_bytes(text), safe="-_.~")


def _escaped_canonically(text: str) -> bool:
    """Whether `text` is unreserved characters and upper-case %XX escapes of reserved bytes only, i.e. already
    what decoding and re-encoding would give (urllib's pair costs microseconds on a long session token)."""
    first, *escaped = text.split("%")
    if not escaped or not _UNRESERVED.issuperset(first):
        return False
    return all(piece[:2] in _RESERVED_ESCAPES and _UNRESERVED.issuperset(piece[2:]) for piece in escaped)
