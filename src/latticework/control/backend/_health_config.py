"""Health check configuration of a target group: the defaults AWS fills in, an update merged over the current
settings, the rules that tie the check to the target group's protocol, and the success-code matcher.

Pure: plain dicts in, plain dicts out, no store and no clock. Errors are ValidationExceptions naming the
offending member (`config.healthCheck.path` on create, `healthCheck.path` on update). The data plane's health
checker reads the stored, completed configuration and matches response codes with `parse_matcher` and
`code_matches`.

Sources: API reference HealthCheckConfig (ranges, defaults, "0 resets to the default"), User Guide "Health
checks for your VPC Lattice target groups" (which protocol versions check by default, gRPC), User Guide "TLS
listeners" (TCP target groups), and the AWS CLI examples of create-target-group (the filled-in response).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from latticework.control.errors import FieldError, ValidationException

__all__ = [
    "DEFAULT_MATCHER",
    "DEFAULT_PATH",
    "checks_enabled_by_default",
    "code_matches",
    "complete_health_check",
    "parse_matcher",
    "resolve_health_check",
]

DEFAULT_PATH = "/"
DEFAULT_MATCHER = "200"
# member: (default, lowest, highest). API reference HealthCheckConfig: "The range is 5-300 seconds. The default
# is 30 seconds." and so on; the model's range starts at 0 because 0 means "reset to the default".
NUMBERS: Mapping[str, tuple[int, int, int]] = {
    "healthCheckIntervalSeconds": (30, 5, 300),
    "healthCheckTimeoutSeconds": (5, 1, 120),
    "healthyThresholdCount": (5, 2, 10),
    "unhealthyThresholdCount": (2, 2, 10),
}
_LOWEST_CODE, _HIGHEST_CODE = 200, 499  # User Guide: "the range is 200 to 499"
_MATCHER_ITEM = re.compile(r"(\d{3})(?:-(\d{3}))?")
_HTTP = ("HTTP", "HTTPS")


def parse_matcher(text: str) -> tuple[tuple[int, int], ...]:
    """`"200"`, `"200,202"`, `"200-299"` (a list may mix codes and ranges) -> inclusive (low, high) pairs.

    Raises ValueError with a message for the user when a code is malformed or outside 200-499.
    """
    ranges: list[tuple[int, int]] = []
    for item in text.split(","):
        found = _MATCHER_ITEM.fullmatch(item)
        if found is None:
            raise ValueError(
                f"'{text}' is not a valid success code matcher: use a code, a list or a range, "
                'e.g. "200", "200,202" or "200-299".'
            )
        low = int(found[1])
        high = int(found[2] or found[1])
        if not _LOWEST_CODE <= low <= high <= _HIGHEST_CODE:
            raise ValueError(
                f"'{item}' in the matcher is outside the allowed codes: success codes must be between "
                f"{_LOWEST_CODE} and {_HIGHEST_CODE}, and a range must go from low to high."
            )
        ranges.append((low, high))
    return tuple(ranges)


def code_matches(ranges: tuple[tuple[int, int], ...], status: int) -> bool:
    return any(low <= status <= high for low, high in ranges)


def checks_enabled_by_default(protocol: str, protocol_version: str | None) -> bool:
    # User Guide, health checks: "When the target group protocol version is HTTP1, health checks are enabled by
    # default"; not for HTTP2 (nor gRPC, which health checks do not support); User Guide, TLS listeners: "By
    # default, health checks are disabled for TCP target groups."
    return protocol in _HTTP and protocol_version == "HTTP1"


def complete_health_check(check: Mapping[str, Any], protocol: str, protocol_version: str | None) -> dict[str, Any]:
    """Every member the user left out, filled with the default for this target group's protocol.

    As the CLI examples show: enabled, the check protocol following the target group's (HTTPS -> HTTPS), the
    protocol version following the group's for HTTP1/HTTP2, path "/", interval 30, timeout 5, healthy 5,
    unhealthy 2, matcher 200, and no port (the traffic port). A gRPC group has no default check protocol
    version and a TCP group no default check protocol: the user names them when enabling checks.
    """
    done = dict(check)
    done.setdefault("enabled", checks_enabled_by_default(protocol, protocol_version))
    if protocol in _HTTP:
        done.setdefault("protocol", protocol)
    if done.get("protocol") in _HTTP:
        if protocol_version in ("HTTP1", "HTTP2"):
            done.setdefault("protocolVersion", protocol_version)
        done.setdefault("path", DEFAULT_PATH)
        done.setdefault("matcher", {"httpCode": DEFAULT_MATCHER})
    for name, (default, _, _) in NUMBERS.items():
        done.setdefault(name, default)
    return done


def resolve_health_check(
    current: Mapping[str, Any],
    given: Mapping[str, Any],
    protocol: str,
    protocol_version: str | None,
    prefix: str,
) -> dict[str, Any]:
    """`given` merged over `current` (empty on create), checked against the target group, then completed.

    Members given replace the current ones; 0 for a number or the port, and "" for the path or the matcher,
    reset the member to its default (API reference HealthCheckConfig). Raises ValidationException listing
    every offending member under `prefix`.
    """
    merged = _merge(current, given)
    if merged.get("protocol") == "TCP":
        # A TCP check only opens a connection: path, matcher and HTTP version have no meaning for it.
        for member in ("path", "matcher", "protocolVersion"):
            merged.pop(member, None)
    errors = _problems(merged, given, protocol, prefix)
    done = complete_health_check(merged, protocol, protocol_version)
    errors.extend(_enabling_problems(done, protocol, prefix))
    if errors:
        raise ValidationException.from_fields(errors)
    return done


def _merge(current: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(current)
    for name, value in given.items():
        if value is None:
            continue
        if _is_reset(name, value):
            merged.pop(name, None)  # completion fills the default back in
        else:
            merged[name] = dict(value) if name == "matcher" else value
    return merged


def _is_reset(name: str, value: Any) -> bool:
    if name in NUMBERS or name == "port":
        return bool(value == 0)
    if name == "matcher":
        return not value.get("httpCode")
    return name == "path" and value == ""


def _problems(merged: Mapping[str, Any], given: Mapping[str, Any], protocol: str, prefix: str) -> list[FieldError]:
    errors = [*_tcp_problems(merged, given, protocol), *_range_problems(merged)]
    code = merged.get("matcher", {}).get("httpCode")
    if code is not None:
        try:
            parse_matcher(code)
        except ValueError as exc:
            errors.append(FieldError("matcher.httpCode", str(exc)))
    return [FieldError(f"{prefix}.{e.name}", e.message) for e in errors]


def _tcp_problems(merged: Mapping[str, Any], given: Mapping[str, Any], protocol: str) -> list[FieldError]:
    if merged.get("protocol") != "TCP":
        return []
    errors = []
    if protocol != "TCP":
        # As in Elastic Load Balancing: TCP checks only for TCP target groups.
        message = f"TCP health checks are only for TCP target groups; this one is {protocol}. Use HTTP or HTTPS."
        errors.append(FieldError("protocol", message))
    for member in ("path", "matcher", "protocolVersion"):
        if given.get(member):
            message = f"{member} does not apply to TCP health checks, which only open a connection; leave it out."
            errors.append(FieldError(member, message))
    return errors


def _range_problems(merged: Mapping[str, Any]) -> list[FieldError]:
    errors = []
    for name, (_, low, high) in NUMBERS.items():
        value = merged.get(name)
        if value is not None and not low <= value <= high:
            message = f"{name} must be between {low} and {high} (0 resets it to the default); got {value}."
            errors.append(FieldError(name, message))
    return errors


def _enabling_problems(done: Mapping[str, Any], protocol: str, prefix: str) -> list[FieldError]:
    if not done["enabled"]:
        return []
    if "protocol" not in done:
        # User Guide, TLS listeners: "If you enable health checks for a TCP target group, you must specify a
        # protocol and protocol version."
        message = (
            f"Enabling health checks on a {protocol} target group needs a health check protocol: "
            "HTTP or HTTPS (with a protocolVersion), or TCP."
        )
        return [FieldError(f"{prefix}.protocol", message)]
    if done["protocol"] in _HTTP and "protocolVersion" not in done:
        # User Guide, health checks: gRPC is not a health check protocol version; "if you enable health checks,
        # you must specify the health check protocol version as HTTP1 or HTTP2".
        message = "Enabling HTTP health checks on this target group needs a protocolVersion: HTTP1 or HTTP2."
        return [FieldError(f"{prefix}.protocolVersion", message)]
    return []
