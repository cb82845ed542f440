"""Every resource type the deployer supports, by CloudFormation type name (`PROVIDERS`). Each provider is a
client of the server's API (botocore clients handed in through `Context`); none reads or writes the store."""

from __future__ import annotations

from latticework.deploy.providers.base import Applied, Context, Provider
from latticework.deploy.providers.compute import COMPUTE_PROVIDERS
from latticework.deploy.providers.elbv2 import ELBV2_PROVIDERS
from latticework.deploy.providers.lattice import LATTICE_PROVIDERS
from latticework.deploy.providers.recorded import RECORDED_PROVIDERS

__all__ = ["PROVIDERS", "Applied", "Context", "Provider"]

PROVIDERS: dict[str, Provider] = {
    provider.type_name: provider
    for provider in (*LATTICE_PROVIDERS, *RECORDED_PROVIDERS, *COMPUTE_PROVIDERS, *ELBV2_PROVIDERS)
}
