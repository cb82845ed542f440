"""The local credential registry: access keys and the principals they authenticate, kept in the store.

Stands in for IAM and STS (reference 2.6, option a): `latticework principals add / list / remove / import` and
the server's `--principals FILE` write here; the data plane reads the entries with every config snapshot (they
are configuration: a change bumps the config version), the control plane looks up the account of a signed API
request. One record per access key, kind `principal`, id = the access key. Secrets are stored as given: this is
a local development registry, not a vault.

Owns the file format too (JSON):

    {"principals": [{"accessKeyId": "AKIA...", "secretAccessKey": "...", "arn": "arn:aws:iam::111122223333:user/a",
                     "sessionToken": null, "orgId": "o-...", "tags": {"team": "x"}, "identityPolicy": {...}}]}
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from latticework.auth.principals import Identity, PrincipalError, parse_principal_arn
from latticework.control.store import Record, Store, Transaction

__all__ = [
    "KIND",
    "RegistryError",
    "add_identities",
    "check_identity_policy",
    "entry_of",
    "identities_from_records",
    "identity_from_entry",
    "list_identities",
    "load_file",
    "lookup_in",
    "new_access_key",
    "new_secret_key",
    "remove_identity",
]

KIND = "principal"
# IAM is global and the registry spans accounts: every entry is kept under one fixed scope.
_ACCOUNT, _REGION = "iam", "global"
# IAM API reference, AccessKey: AccessKeyId is 16-128 characters of \w.
_ACCESS_KEY = re.compile(r"^\w{16,128}$")
_FIELDS = {"accessKeyId", "secretAccessKey", "arn", "sessionToken", "orgId", "tags", "identityPolicy"}


class RegistryError(ValueError):
    """An entry or file the registry cannot take; the message says what to fix."""


def new_access_key(temporary: bool = False) -> str:
    """A fresh key ID shaped like AWS's: AKIA (long-term) or ASIA (temporary) and 16 upper-case characters."""
    alphabet = string.ascii_uppercase + "234567"
    return ("ASIA" if temporary else "AKIA") + "".join(secrets.choice(alphabet) for _ in range(16))


def new_secret_key() -> str:
    alphabet = string.ascii_letters + string.digits + "+/"
    return "".join(secrets.choice(alphabet) for _ in range(40))


def identity_from_entry(entry: Mapping[str, Any], where: str = "entry") -> Identity:
    """An `Identity` from one file/record entry; RegistryError names the field that is wrong."""
    unknown = set(entry) - _FIELDS
    if unknown:
        raise RegistryError(f"{where}: unknown field(s) {sorted(unknown)}; expected some of {sorted(_FIELDS)}.")
    key, secret, arn = entry.get("accessKeyId"), entry.get("secretAccessKey"), entry.get("arn")
    if not isinstance(key, str) or not _ACCESS_KEY.match(key):
        raise RegistryError(f"{where}: accessKeyId must be 16-128 letters, digits or underscores, got {key!r}.")
    if not isinstance(secret, str) or not secret:
        raise RegistryError(f"{where}: secretAccessKey is required.")
    if not isinstance(arn, str):
        raise RegistryError(f"{where}: arn (the principal's IAM ARN) is required.")
    tags = entry.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise RegistryError(f"{where}: tags must be an object of string keys to string values.")
    policy = entry.get("identityPolicy")
    if policy is not None and not isinstance(policy, str):
        policy = json.dumps(policy)
    try:
        principal = parse_principal_arn(arn, entry.get("orgId"), tags, policy)
    except PrincipalError as exc:
        raise RegistryError(f"{where}: {exc}") from None
    return Identity(key, secret, principal, entry.get("sessionToken"))


def entry_of(identity: Identity) -> dict[str, Any]:
    principal = identity.principal
    return {
        "accessKeyId": identity.access_key,
        "secretAccessKey": identity.secret_key,
        "arn": principal.arn,
        "sessionToken": identity.session_token,
        "orgId": principal.org_id,
        "tags": dict(principal.tags),
        "identityPolicy": principal.identity_policy,
    }


def check_identity_policy(identity: Identity) -> None:
    """RegistryError when the identity policy would never evaluate (the same checks as PutAuthPolicy)."""
    document = identity.principal.identity_policy
    if document is None:
        return
    from latticework.auth.policy import PolicyError, compile_policy

    try:
        compile_policy(document, "identity")
    except PolicyError as exc:
        raise RegistryError(f"identity policy of {identity.access_key}: {exc}") from None


def load_file(path: Path) -> list[Identity]:
    """The identities of a registry file; RegistryError says which entry is wrong and why."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{path}: cannot read a JSON principals file ({exc}).") from None
    entries = document.get("principals") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise RegistryError(f'{path}: expected {{"principals": [ ... ]}} at the top level.')
    identities = [identity_from_entry(entry, f"{path}: principals[{i}]") for i, entry in enumerate(entries)]
    keys = [identity.access_key for identity in identities]
    if len(set(keys)) != len(keys):
        raise RegistryError(f"{path}: an accessKeyId appears twice.")
    return identities


def add_identities(store: Store, identities: Iterable[Identity]) -> None:
    """Add or replace (same access key) registry entries, in one transaction."""
    with store.transaction() as tx:
        for identity in identities:
            record = Record(KIND, _ACCOUNT, _REGION, identity.access_key, identity.principal.arn, entry_of(identity))
            existing = tx.get(KIND, _ACCOUNT, _REGION, identity.access_key)
            record.seq = existing.seq if existing else 0
            tx.put(record)


def remove_identity(store: Store, access_key: str) -> bool:
    """Remove one access key; False when it was not there."""
    with store.transaction() as tx:
        record = tx.get(KIND, _ACCOUNT, _REGION, access_key)
        if record is None:
            return False
        tx.delete(record)
        return True


def list_identities(store: Store) -> list[Identity]:
    _, records = store.read_all([KIND])
    return sorted(identities_from_records(records).values(), key=lambda i: (i.principal.arn, i.access_key))


def lookup_in(tx: Transaction, access_key: str) -> Identity | None:
    """The identity of one access key (the control plane's account for a signed API request)."""
    record = tx.get(KIND, _ACCOUNT, _REGION, access_key)
    return identity_from_entry(record.doc) if record else None


def identities_from_records(records: Iterable[Record]) -> dict[str, Identity]:
    """Access key -> identity, for the records of kind `principal` (others are ignored)."""
    return {r.id: identity_from_entry(r.doc, f"principal {r.id}") for r in records if r.kind == KIND}
