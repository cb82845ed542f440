"""Who a caller is: the principals of the local credential registry, and what an access key maps to.

AWS knows every access key's secret; we do not, so a local registry stands in for IAM and STS: an access key
maps to its secret, an optional session token, and the principal it authenticates (an IAM user, a role, or an
assumed-role session) with its account, organization, tags and optional identity policy. Pure values here;
`registry` stores them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["Identity", "Principal", "PrincipalError", "parse_principal_arn"]

_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):(?P<service>iam|sts)::(?P<account>\d{12}):"
    r"(?P<kind>user|role|assumed-role|root|federated-user)(?P<rest>/.*)?$"
)
# aws:PrincipalType values (IAM UG "AWS global condition context keys").
_TYPES = {
    "user": "User",
    "role": "Role",
    "assumed-role": "AssumedRole",
    "root": "Account",
    "federated-user": "FederatedUser",
}


class PrincipalError(ValueError):
    """A principal ARN or registry entry that cannot stand for an AWS identity."""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated AWS identity, as policies see it."""

    arn: str  # arn:aws:iam::111122223333:user/alice, ...:role/r, arn:aws:sts::111122223333:assumed-role/r/session
    account: str
    type: str  # aws:PrincipalType: User, Role, AssumedRole, Account, FederatedUser
    org_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    session_name: str | None = None  # assumed-role sessions only
    identity_policy: str | None = None  # IAM policy JSON; None: the identity allows (no identity policy kept)

    @property
    def role_arn(self) -> str | None:
        """For an assumed-role session, the role it came from (what a Principal element names)."""
        if self.type != "AssumedRole":
            return None
        role = self.arn.split(":assumed-role/", 1)[1].rsplit("/", 1)[0]
        partition = self.arn.split(":", 2)[1]
        return f"arn:{partition}:iam::{self.account}:role/{role}"


@dataclass(frozen=True, slots=True)
class Identity:
    """One access key of the registry and the principal it authenticates."""

    access_key: str
    secret_key: str
    principal: Principal
    session_token: str | None = None


def parse_principal_arn(
    arn: str,
    org_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    identity_policy: str | None = None,
) -> Principal:
    """A `Principal` from its ARN; the account, type and session name come from the ARN itself."""
    match = _ARN.match(arn)
    if match is None:
        raise PrincipalError(
            f"'{arn}' is not an IAM principal ARN. Use arn:aws:iam::ACCOUNT:user/NAME, arn:aws:iam::ACCOUNT:role/NAME "
            "or arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION."
        )
    kind, rest = match["kind"], (match["rest"] or "").lstrip("/")
    if kind == "assumed-role" and (match["service"] != "sts" or rest.count("/") < 1):
        raise PrincipalError(f"'{arn}': an assumed-role session is arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION.")
    if kind in ("user", "role") and (match["service"] != "iam" or not rest):
        raise PrincipalError(f"'{arn}': users and roles are arn:aws:iam::ACCOUNT:{kind}/NAME.")
    session = rest.rsplit("/", 1)[1] if kind == "assumed-role" else None
    return Principal(
        arn=arn,
        account=match["account"],
        type=_TYPES[kind],
        org_id=org_id,
        tags=MappingProxyType(dict(tags or {})),
        session_name=session,
        identity_policy=identity_policy,
    )
