"""Which Lambda runtimes run here, and which interpreter runs each.

Accepted: `python3.8` and later (the bootstrap needs 3.8). A runtime whose version is the server's own runs on
the server's interpreter (`sys.executable`, so the server's virtualenv, boto3 included, is importable, as the
Lambda Python runtimes bundle boto3); another version runs on `pythonX.Y` found on PATH. Anything else is
refused when the function is created or updated, with a message saying what to install or use instead.

No processes started here: only a PATH lookup.
"""

from __future__ import annotations

import re
import shutil
import sys

from latticework.compute.functions.model import RuntimeUnavailable

__all__ = ["OWN_RUNTIME", "interpreter_for"]

OWN_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
_PYTHON = re.compile(r"python3\.(\d+)")


def interpreter_for(runtime: str) -> str:
    """The interpreter path for `runtime`; raises RuntimeUnavailable with what to do instead."""
    match = _PYTHON.fullmatch(runtime)
    if match is None or int(match.group(1)) < 8:
        raise RuntimeUnavailable(
            f"Runtime {runtime} is not supported by Latticework: use python3.8 or later "
            f"({OWN_RUNTIME} runs on the server's interpreter)."
        )
    if runtime == OWN_RUNTIME:
        return sys.executable
    found = shutil.which(runtime)
    if found is None:
        raise RuntimeUnavailable(
            f"Runtime {runtime} needs the interpreter '{runtime}' on PATH, and there is none. "
            f"Install {runtime} or use {OWN_RUNTIME} (the server's interpreter)."
        )
    return found
