"""The web console (`/console`) and the Prometheus endpoint (`/metrics`) of `latticework server`.

This package face owns only where metrics live and how multiprocess mode is switched on; it must never import
prometheus_client itself, because prometheus-client chooses between in-process and multiprocess values when it
is first imported (its docs: "the environment variable must be set before the first metric is created"), and
`enable_multiprocess` has to run before that, in the server process, so data-plane workers inherit it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

__all__ = ["MULTIPROC_ENV", "enable_multiprocess", "metrics_dir"]

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def metrics_dir(state_dir: Path) -> Path:
    """Where every data-plane process of one state dir writes its metric files (one set per process ID)."""
    return state_dir / "metrics"


def enable_multiprocess(state_dir: Path) -> Path:
    """Start a fresh metrics directory for this server run and point prometheus-client at it (inherited by the
    worker processes it starts). Counters restart at zero with the server, as Prometheus expects of a restart
    (prometheus-client docs, "Multiprocess Mode": wipe the directory between runs)."""
    if "prometheus_client" in sys.modules and os.environ.get(MULTIPROC_ENV) is None:
        raise RuntimeError("enable_multiprocess must run before prometheus_client is imported")
    directory = metrics_dir(state_dir)
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory
