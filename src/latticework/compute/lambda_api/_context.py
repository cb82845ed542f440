"""What every Lambda operation works with: the open store transaction, the caller, the clock reading and the
state dir (for function code), plus finding a function by any of the names the API accepts.

No I/O of its own beyond the transaction it is handed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from latticework.compute.functions.model import FUNCTION_KIND
from latticework.compute.lambda_api.errors import ResourceNotFoundException
from latticework.compute.lambda_api.names import FunctionRef, function_arn, parse_function_name
from latticework.control.backend import Caller
from latticework.control.errors import ValidationException
from latticework.control.store import Record, Transaction

__all__ = ["LambdaCtx", "last_modified"]


def last_modified(now: float) -> str:
    """LastModified as Lambda writes it: `2024-05-01T12:00:00.000+0000`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}+0000"


@dataclass(slots=True)
class LambdaCtx:
    tx: Transaction
    caller: Caller
    now: float
    state_dir: Path

    def ref(self, identifier: str, qualifier: str | None = None) -> FunctionRef:
        ref = parse_function_name(identifier, self.caller.account, self.caller.region)
        if ref is None:
            raise ValidationException.field("FunctionName", f"'{identifier}' is not a function name or ARN.")
        wanted = qualifier or ref.qualifier
        if wanted not in (None, "$LATEST"):
            # Versions and aliases are not modelled yet: only $LATEST exists.
            raise ResourceNotFoundException(f"Function not found: {ref.arn}:{wanted}")
        return ref

    def function(self, identifier: str, qualifier: str | None = None) -> Record:
        """The function's record; ResourceNotFoundException with Lambda's message otherwise."""
        ref = self.ref(identifier, qualifier)
        record = self.tx.get(FUNCTION_KIND, ref.account, ref.region, ref.name)
        if record is None:
            raise ResourceNotFoundException(f"Function not found: {ref.arn}")
        return record

    def arn(self, name: str) -> str:
        return function_arn(self.caller.region, self.caller.account, name)
