"""`latticework up` of the retail store from cold (no server running, a fresh state dir) to every target healthy,
against issue 8's goal (< 10 s, stretch 4 s), with the phases it spends its time in. The peer, run in the same
rounds: the three apps started as bare processes (no Lattice, no server) until each health check answers, the
floor any deploy of them pays.

    .venv/bin/python bench/up.py [--runs 5] [--template examples/retail-store/template.yaml] [--parameter K=V]

Phases, from the moment `latticework up --detach` is spawned, read off its (unbuffered) output:
  server start   spawn -> "server started" (the API answers /_latticework/health)
  deploy         -> the first "waiting:" line (every resource created through the API)
  health         -> "stack ... ready in" (ECS tasks running, every IP/ALB target HEALTHY)
  total          -> ready; the process then prints the outputs and exits.
Each run ends with `latticework down` (untimed). Everything binds 127.0.0.1 on free ports in temp dirs.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "examples" / "retail-store"
LATTICEWORK = [sys.executable, "-m", "latticework"]
PHASES = ("server start", "deploy", "health", "total")
GOAL, STRETCH = 10.0, 4.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cold_up(template: Path, parameters: list[str]) -> dict[str, float]:
    """One cold `latticework up --detach`: seconds at the end of each phase (cumulative)."""
    with tempfile.TemporaryDirectory(prefix="bench-up-") as tmp:
        where = ["--state-dir", str(Path(tmp) / "state"), "--api-port", str(free_port())]
        given = [arg for p in parameters for arg in ("--parameter", p)]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        began = time.perf_counter()
        up = subprocess.Popen([*LATTICEWORK, "up", str(template), "--detach", *where, *given], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        try:
            marks = read_phases(up, began)
        finally:
            up.wait(timeout=120)
            subprocess.run([*LATTICEWORK, "down", *where], capture_output=True, timeout=120, check=False)
    return marks


def read_phases(up: subprocess.Popen[str], began: float) -> dict[str, float]:
    marks: dict[str, float] = {}
    lines: list[str] = []
    assert up.stdout is not None
    for line in up.stdout:
        now = time.perf_counter() - began
        lines.append(line)
        if line.startswith("server started"):
            marks["server start"] = now
        elif line.startswith("  waiting:"):
            marks.setdefault("deploy", now)
        elif line.startswith("stack ") and " ready in " in line:
            marks.setdefault("deploy", now)
            marks["health"] = marks["total"] = now
    if set(marks) != set(PHASES):
        raise SystemExit("latticework up did not get ready:\n" + "".join(lines[-30:]))
    return marks


def bare_apps() -> float:
    """Seconds until orders, checkout and the storefront, started as plain processes, all answer health."""
    ports = {name: free_port() for name in ("orders", "checkout", "ui")}
    with tempfile.TemporaryDirectory(prefix="bench-apps-") as data:
        env = {**os.environ, "DATA_DIR": data, "HOST": "127.0.0.1"}
        commands = {
            "orders": ([sys.executable, "orders/serve.py"], {}),
            "checkout": ([sys.executable, "-m", "checkout"], {"ENDPOINTS_ORDERS": f"http://127.0.0.1:{ports['orders']}"}),
            "ui": ([sys.executable, "-m", "storefront"], {"ENDPOINTS_CHECKOUT": f"http://127.0.0.1:{ports['checkout']}"}),
        }  # fmt: skip
        checks = {"orders": "/orders", "checkout": "/health", "ui": "/actuator/health"}
        began = time.perf_counter()
        processes = [subprocess.Popen(argv, cwd=STORE, env={**env, **extra, "PORT": str(ports[name])},
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for name, (argv, extra) in commands.items()]  # fmt: skip
        try:
            for name, path in checks.items():
                wait_ok(f"http://127.0.0.1:{ports[name]}{path}")
            return time.perf_counter() - began
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=30)


def wait_ok(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.01)
    raise SystemExit(f"{url} did not answer in {timeout:.0f} s")


def report(runs: list[dict[str, float]], peer: list[float]) -> None:
    print(f"\ncold `latticework up` of the retail store, {len(runs)} runs (seconds from spawn; phase = its own span)")
    print(f"{'phase':<14} {'p50':>7} {'max':>7}")
    for i, phase in enumerate(PHASES):
        previous = PHASES[i - 1] if 0 < i < len(PHASES) - 1 else None
        spans = [r[phase] - (r[previous] if previous else 0.0) for r in runs]
        print(f"{phase:<14} {statistics.median(spans):7.2f} {max(spans):7.2f}")
    totals = [r["total"] for r in runs]
    p50, worst = statistics.median(totals), max(totals)
    peer_p50 = statistics.median(peer)
    print(f"{'bare apps':<14} {peer_p50:7.2f} {max(peer):7.2f}   (peer: the three apps as plain processes)")
    print(f"ratio total/bare apps p50: {p50 / peer_p50:.1f}x")
    print(f"goal total < {GOAL:.0f} s: {'met' if worst < GOAL else 'not met'} (max {worst:.2f} s); "
          f"stretch < {STRETCH:.0f} s: {'met' if worst < STRETCH else 'not met'}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--template", type=Path, default=STORE / "template.yaml")
    parser.add_argument("--parameter", action="append", default=[], help="K=V for the template (repeatable)")
    args = parser.parse_args()
    runs: list[dict[str, float]] = []
    peer: list[float] = []
    for n in range(args.runs):  # interleaved, so both see the same machine load
        runs.append(cold_up(args.template.resolve(), args.parameter))
        peer.append(bare_apps())
        print(f"run {n + 1}: up {runs[-1]['total']:.2f} s, bare apps {peer[-1]:.2f} s", flush=True)
    report(runs, peer)


if __name__ == "__main__":
    main()
