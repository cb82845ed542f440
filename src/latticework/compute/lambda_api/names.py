"""Function names as the Lambda API accepts them: `my-function`, `my-function:$LATEST`,
`123456789012:function:my-function` and `arn:aws:lambda:us-west-2:123456789012:function:my-function[:QUALIFIER]`
(Lambda API reference, FunctionName). Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FunctionRef", "function_arn", "parse_function_name"]

_ARN = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]+)(?::(\$LATEST|[A-Za-z0-9_-]+))?"
)
_PARTIAL = re.compile(r"(\d{12}):function:([A-Za-z0-9_-]+)(?::(\$LATEST|[A-Za-z0-9_-]+))?")
_NAME = re.compile(r"([A-Za-z0-9_-]+)(?::(\$LATEST|[A-Za-z0-9_-]+))?")


@dataclass(frozen=True, slots=True)
class FunctionRef:
    account: str
    region: str
    name: str
    qualifier: str | None = None

    @property
    def arn(self) -> str:
        return function_arn(self.region, self.account, self.name)


def function_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def parse_function_name(identifier: str, account: str, region: str) -> FunctionRef | None:
    """The function an identifier names (the caller's account and region unless it says otherwise), or None."""
    if match := _ARN.fullmatch(identifier):
        return FunctionRef(match.group(2), match.group(1), match.group(3), match.group(4))
    if match := _PARTIAL.fullmatch(identifier):
        return FunctionRef(match.group(1), region, match.group(2), match.group(3))
    if match := _NAME.fullmatch(identifier):
        return FunctionRef(account, region, match.group(1), match.group(2))
    return None
