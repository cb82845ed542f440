"""Who is calling an API: the region from the request's SigV4 credential scope (the default region when
unsigned) and the account of its access key's principal when the local credential registry knows the key,
else the server's default account (DESIGN 2). Every API front (the gateway, Lambda, ECS) asks here.

The registry's keys are re-read only when the config version moves (the registry is configuration), so a
request pays one version read, never a scan.
"""

from __future__ import annotations

from collections.abc import Mapping

from latticework.auth.registry import KIND, identities_from_records
from latticework.config import Settings
from latticework.control.api.sigv4scope import credential_scope
from latticework.control.backend import Caller
from latticework.control.store import Store

__all__ = ["Callers"]


class Callers:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._version = -1
        self._accounts: Mapping[str, str] = {}

    def caller(self, headers: dict[str, str], query: list[tuple[str, str]]) -> Caller:
        scope = credential_scope(headers, query)
        if scope is None:
            return Caller(self.settings.account, self.settings.region)
        return Caller(self._account(scope.access_key), scope.region, scope.access_key)

    def _account(self, access_key: str) -> str:
        version = self.store.config_version()
        if version != self._version:
            _, records = self.store.read_all([KIND])
            identities = identities_from_records(records)
            self._accounts = {key: identity.principal.account for key, identity in identities.items()}
            self._version = version
        return self._accounts.get(access_key, self.settings.account)
