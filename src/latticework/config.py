"""Settings shared by the control plane and the CLI: account, default region, quotas, provisioning delay, strict
mode.

Pure values; the CLI builds them from flags and the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

__all__ = ["DEFAULT_QUOTAS", "Settings"]

# Lattice User Guide "Quotas" (reference 1.6): defaults, all adjustable here as on AWS.
DEFAULT_QUOTAS: Mapping[str, int] = MappingProxyType(
    {
        "service_networks_per_region": 50,
        "services_per_region": 2000,
        "target_groups_per_region": 500,
        "target_groups_per_service": 10,
        "listeners_per_service": 2,
        "rules_per_listener": 10,
        "targets_per_target_group": 1000,
        "service_associations_per_service_network": 500,
        "vpc_associations_per_service_network": 500,
        "resource_configurations_per_service_network": 500,
        "resource_configurations_per_region": 2000,
        "child_resource_configurations_per_group": 60,
        "resource_gateways_per_vpc": 500,
        "domain_verifications_per_region": 5,
        "auth_policy_bytes": 10240,
    }
)


@dataclass(frozen=True, slots=True)
class Settings:
    account: str = "000000000000"
    region: str = "us-west-2"
    quotas: Mapping[str, int] = field(default_factory=lambda: DEFAULT_QUOTAS)
    # How long a new service, target group or association stays CREATE_IN_PROGRESS before it is ACTIVE.
    provisioning_seconds: float = 0.0
    # Strict mode (DESIGN 6): AWS's checks that a local setup may skip are enforced. So far: a LAMBDA target's
    # function is invoked only when its resource policy lets vpc-lattice.amazonaws.com invoke it.
    strict: bool = False
    # Servers sharing one store (replicas on PostgreSQL) run ECS tasks on one of them, the holder of a lease it
    # renews; when it stops renewing (killed, stalled), another takes over after at most this long.
    lease_seconds: float = 10.0

    def with_quotas(self, overrides: Mapping[str, int]) -> Settings:
        unknown = set(overrides) - set(DEFAULT_QUOTAS)
        if unknown:
            raise ValueError(f"unknown quota(s): {', '.join(sorted(unknown))}; known: {', '.join(DEFAULT_QUOTAS)}")
        return replace(self, quotas=MappingProxyType({**self.quotas, **overrides}))
