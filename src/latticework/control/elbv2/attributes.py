"""DescribeLoadBalancerAttributes and ModifyLoadBalancerAttributes: an ALB's attributes, every key with AWS's
default (ELB User Guide, "Edit attributes for your Application Load Balancer"), kept in the load balancer's
record as `_attributes` (only the ones set; the defaults fill in the rest).

Carried out: `access_logs.s3.*` (the data plane writes the ALB's access log under STATE_DIR/logs/s3, see
docs/albs.md) and `deletion_protection.enabled` (DeleteLoadBalancer refuses). The others (connection and health
check logs among them) are validated, kept and returned, not carried out. No I/O of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from latticework.control.elbv2._context import ElbCtx
from latticework.control.elbv2.errors import ElbError, validation
from latticework.dataplane.alb import names

# The operations only: control/elbv2/app.py serves every name listed here. `attributes_of`, `deletion_protected`
# and `DEFAULTS` are imported by name.
__all__ = ["describe_load_balancer_attributes", "modify_load_balancer_attributes"]

_BOOL = ("true", "false")


def _boolean(value: str) -> str | None:
    return None if value in _BOOL else "true or false"


def _seconds(low: int, high: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value.isdigit() and low <= int(value) <= high else f"a whole number from {low} to {high}"

    return check


def _one_of(*choices: str) -> Callable[[str], str | None]:
    return lambda value: None if value in choices else " or ".join(choices)


# S3 bucket naming rules (S3 User Guide, "General purpose bucket naming rules"): 3-63 lowercase letters, digits,
# dots and hyphens, beginning and ending with a letter or digit.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _bucket(value: str) -> str | None:
    return None if value == "" or _BUCKET.fullmatch(value) else "an S3 bucket name (3-63 a-z, 0-9, '.', '-')"


def _prefix(value: str) -> str | None:
    # User Guide: the prefix cannot start with a slash and cannot contain "AWSLogs".
    return None if not value.startswith("/") and "AWSLogs" not in value else "a key prefix without a leading '/' "\
        "or 'AWSLogs'"  # fmt: skip


# key -> (default, check); the check returns None when the value is good, else what it should be.
_ATTRIBUTES: dict[str, tuple[str, Callable[[str], str | None]]] = {
    "access_logs.s3.enabled": ("false", _boolean),
    "access_logs.s3.bucket": ("", _bucket),
    "access_logs.s3.prefix": ("", _prefix),
    "connection_logs.s3.enabled": ("false", _boolean),
    "connection_logs.s3.bucket": ("", _bucket),
    "connection_logs.s3.prefix": ("", _prefix),
    "health_check_logs.s3.enabled": ("false", _boolean),
    "health_check_logs.s3.bucket": ("", _bucket),
    "health_check_logs.s3.prefix": ("", _prefix),
    "client_keep_alive.seconds": ("3600", _seconds(60, 604800)),
    "deletion_protection.enabled": ("false", _boolean),
    "idle_timeout.timeout_seconds": ("60", _seconds(1, 4000)),
    "load_balancing.cross_zone.enabled": ("true", _boolean),
    "routing.http.desync_mitigation_mode": ("defensive", _one_of("monitor", "defensive", "strictest")),
    "routing.http.drop_invalid_header_fields.enabled": ("false", _boolean),
    "routing.http.preserve_host_header.enabled": ("false", _boolean),
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": ("false", _boolean),
    "routing.http.xff_client_port.enabled": ("false", _boolean),
    "routing.http.xff_header_processing.mode": ("append", _one_of("append", "preserve", "remove")),
    "routing.http2.enabled": ("true", _boolean),
    "waf.fail_open.enabled": ("false", _boolean),
    "zonal_shift.config.enabled": ("false", _boolean),
}
DEFAULTS: Mapping[str, str] = {key: default for key, (default, _) in _ATTRIBUTES.items()}


def attributes_of(doc: Mapping[str, Any]) -> dict[str, str]:
    """Every attribute of a load balancer's record: the ones set over the defaults."""
    return {**DEFAULTS, **(doc.get("_attributes") or {})}


def describe_load_balancer_attributes(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.get(names.LB_KIND, params["LoadBalancerArn"])
    return {"Attributes": _listed(attributes_of(record.doc))}


def modify_load_balancer_attributes(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    """Checks every key and value first, then sets them all (or none); answers with every attribute, as AWS."""
    record = ctx.get(names.LB_KIND, params["LoadBalancerArn"])
    given = {a["Key"]: a["Value"] for a in params["Attributes"]}
    for key, value in given.items():
        if key not in _ATTRIBUTES:
            raise validation(f"Load balancer attribute key '{key}' is not recognized; an application load "
                             f"balancer's keys are: {', '.join(_ATTRIBUTES)}.")  # fmt: skip
        wanted = _ATTRIBUTES[key][1](value)
        if wanted is not None:
            raise validation(f"Load balancer attribute value '{value}' is not valid for key '{key}': give {wanted}.")
    merged = {**attributes_of(record.doc), **given}
    for kind in ("access_logs", "connection_logs", "health_check_logs"):
        if merged[f"{kind}.s3.enabled"] == "true" and not merged[f"{kind}.s3.bucket"]:
            raise ElbError("InvalidConfigurationRequest", f"The value of '{kind}.s3.bucket' cannot be empty when "
                           f"'{kind}.s3.enabled' is true.")  # fmt: skip
    record.doc["_attributes"] = {k: v for k, v in merged.items() if v != DEFAULTS[k]}
    ctx.tx.put(record)
    return {"Attributes": _listed(merged)}


def deletion_protected(doc: Mapping[str, Any]) -> bool:
    return attributes_of(doc)["deletion_protection.enabled"] == "true"


def _listed(attributes: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in attributes.items()]
