"""`latticework up`, `down` and `outputs`: deploy a CloudFormation template against the server for a state dir
(starting one in the background when none answers), print progress per resource and the outputs, and tear
down. Argument parsing, the server process, signals (what one does at each stage is `after_signal`, a table)
and printing only; the engine is latticework.deploy.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from latticework.deploy.engine import DeployRequest, ResourceEvent, deploy, destroy, not_ready
from latticework.deploy.errors import DeployCancelled, DeployError
from latticework.deploy.providers import PROVIDERS, Context
from latticework.deploy.stacks import StackStore, StoreStacks

__all__ = ["down", "outputs", "up"]

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[3] / "examples" / "retail-store" / "template.yaml"
_PID_FILE = "up-server.pid"

StateDir = Annotated[Path, typer.Option("--state-dir", help="Where the store, CA and logs live.")]
ApiPort = Annotated[int, typer.Option("--api-port", help="Port of the server's API.")]
StackName = Annotated[str | None, typer.Option("--stack-name", help="Default: the template directory's name.")]
Account = Annotated[str, typer.Option(envvar="LATTICEWORK_ACCOUNT", help="Account ID (the server's).")]
Region = Annotated[str, typer.Option(envvar="LATTICEWORK_REGION", help="Region to deploy in.")]


def up(
    template: Annotated[Path | None, typer.Argument(help="Template (YAML or JSON); default: the retail store.")] = None,
    state_dir: StateDir = Path(".latticework"),
    detach: Annotated[bool, typer.Option("--detach", help="Return once every resource is ready.")] = False,
    parameter: Annotated[list[str] | None, typer.Option("--parameter", help="K=V (repeatable).")] = None,
    skip_unsupported: Annotated[
        bool, typer.Option("--skip-unsupported", help="Leave out resource types with no provider (listed).")
    ] = False,
    stack_name: StackName = None,
    api_port: ApiPort = 9750,
    health_interval_scale: Annotated[
        float, typer.Option(help="Passed to the server `up` starts (0.1 makes health checks 10x faster).")
    ] = 1.0,
    wait_seconds: Annotated[float, typer.Option(help="How long to wait for targets to become healthy.")] = 180.0,
    account: Account = "000000000000",
    region: Region = "us-west-2",
) -> None:
    """Deploy TEMPLATE (create, or update by diff), print its outputs, and stay up until Ctrl-C tears it down."""
    path = (template or DEFAULT_TEMPLATE).resolve()
    if not path.is_file():
        raise typer.BadParameter(f"no template at {path}", param_hint="TEMPLATE")
    name = stack_name or _stack_name(path)
    request = DeployRequest(path.read_text(), name, _parameters(parameter or []), skip_unsupported, str(path))
    interrupts = _Interrupts()
    with interrupts.installed():
        with interrupts.held():  # cut off, the start would leave a server nobody knows to stop
            started = _ensure_server(state_dir, api_port, health_interval_scale)
        ctx, stacks = _context(state_dir, api_port, account, region, name, path.parent)
        stage: Stage = "start"
        try:
            interrupts.raise_if_received()
            stage = "deploy"
            began = time.monotonic()
            with interrupts.held():
                doc = deploy(request, stacks, ctx, PROVIDERS, _print_event, interrupts.cancelled)
            stage = "wait"
            interrupts.raise_if_received()
            _wait_ready(doc, ctx, wait_seconds)
            typer.echo(f"stack {name} ready in {time.monotonic() - began:.1f} s")
            _print_outputs(doc, as_json=False)
            for url in _local_urls(doc, ctx):
                typer.echo(f"Open {url}")
            if detach:
                return
            stage = "up"
            typer.echo("Press Ctrl-C to tear down.")
            while True:
                time.sleep(3600)
        except DeployCancelled as exc:
            typer.echo(f"latticework up: {exc}", err=True)
        except DeployError as exc:
            typer.echo(f"latticework up: {exc}", err=True)
            if started:  # everything was rolled back: leave no server behind either
                _stop_server(state_dir)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo("")
        _after_signal(after_signal(stage, detach), name, stacks, ctx, state_dir, started, interrupts.signum)


def down(
    state_dir: StateDir = Path(".latticework"),
    stack_name: StackName = None,
    api_port: ApiPort = 9750,
    keep_server: Annotated[bool, typer.Option(help="Leave a server `up` started running.")] = False,
    account: Account = "000000000000",
    region: Region = "us-west-2",
) -> None:
    """Delete the stack (default: every stack in the state dir, newest first) and stop the server `up` started."""
    if _health(api_port):
        ctx, stacks = _context(state_dir, api_port, account, region, stack_name or "", Path.cwd())
        names = [stack_name] if stack_name else [doc["StackName"] for doc in reversed(stacks.all())]
        for name in names:
            try:
                found = destroy(name, stacks, _with_stack(ctx, name), PROVIDERS, _print_event)
            except DeployError as exc:
                typer.echo(f"latticework down: {exc}", err=True)
                raise typer.Exit(1) from None
            typer.echo(f"stack {name} deleted" if found else f"no stack named {name}")
    if not keep_server:
        _stop_server(state_dir)


def outputs(
    state_dir: StateDir = Path(".latticework"),
    stack_name: StackName = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {stack: {output: value}} as JSON.")] = False,
    account: Account = "000000000000",
    region: Region = "us-west-2",
) -> None:
    """Print the outputs of the stacks in the state dir (read from the store; no server needed)."""
    stacks = _stacks(state_dir, account, region).all()
    chosen = [doc for doc in stacks if stack_name in (None, doc["StackName"])]
    if as_json:
        values = {doc["StackName"]: {k: o["Value"] for k, o in doc.get("Outputs", {}).items()} for doc in chosen}
        typer.echo(json.dumps(values, indent=2))
        return
    for doc in chosen:
        _print_outputs(doc, as_json=False)


# -- helpers -------------------------------------------------------------------------------------------------


def _stack_name(path: Path) -> str:
    base = path.parent.name if path.stem == "template" else path.stem
    cleaned = "".join(c if c.isalnum() else "-" for c in base).strip("-")
    return cleaned or "stack"


def _parameters(values: list[str]) -> dict[str, str]:
    given: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--parameter")
        given[key] = value
    return given


Stage = Literal["start", "deploy", "wait", "up"]


@dataclass(frozen=True, slots=True)
class SignalOutcome:
    """What `up` does when a signal ends it: delete the stack, stop the server it started, exit with this code."""

    delete_stack: bool
    stop_server: bool
    exit_code: int | None  # None: 128 + the signal's number (the shell's convention for "ended by a signal")


def after_signal(stage: Stage, detach: bool) -> SignalOutcome:
    """Without --detach a signal ends `up` the way Ctrl-C does once it is up: the stack deleted (a deploy in
    flight is rolled back first), the server it started stopped; only that last case is a success. With
    --detach the state dir is left as it was before, except that a deploy which completed stays (a signal while
    waiting for it to become ready leaves it, and its server, running)."""
    if stage == "up":
        return SignalOutcome(delete_stack=True, stop_server=True, exit_code=0)
    if detach:
        return SignalOutcome(delete_stack=False, stop_server=stage != "wait", exit_code=None)
    return SignalOutcome(delete_stack=stage != "start", stop_server=True, exit_code=None)


class _Interrupts:
    """SIGINT (Ctrl-C), SIGTERM (kill, a service manager) and SIGHUP (the terminal went away) while `up` runs.
    Normally a signal raises KeyboardInterrupt where `up` is (waiting, staying up). While `held()` (the server
    starting, the deploy) it is only noted: the deploy looks at `cancelled()` between steps and rolls back,
    because a step cut off mid-call could leave the resource it was creating behind, unrecorded. SIGINT is made
    live even when inherited ignored (a shell starts a background job so, and Python keeps it ignored)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._holding = False

    def cancelled(self) -> bool:
        return self.signum is not None

    def raise_if_received(self) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        numbers = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]
        previous = {number: signal.signal(number, self._receive) for number in numbers}  # no SIGHUP on Windows
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def _receive(self, signum: int, frame: object) -> None:
        self.signum = signum
        if not self._holding:
            raise KeyboardInterrupt


def _after_signal(
    outcome: SignalOutcome, name: str, stacks: StackStore, ctx: Context, state_dir: Path, started: bool,
    signum: int | None,
) -> None:  # fmt: skip
    if outcome.delete_stack:
        typer.echo("tearing down ...")
        try:
            destroy(name, stacks, ctx, PROVIDERS, _print_event)
        except DeployError as exc:
            typer.echo(f"latticework up: {exc}; `latticework down` tries again", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:  # a second signal: the record keeps what is left, resource by resource
            typer.echo("\nlatticework up: teardown interrupted; `latticework down` finishes it", err=True)
            raise typer.Exit(128 + (signum or signal.SIGINT)) from None
    elif stacks.get(name) is not None:
        typer.echo(f"stack {name} stays deployed (`latticework down` deletes it)")
    if started and outcome.stop_server:
        _stop_server(state_dir)
    code = outcome.exit_code if outcome.exit_code is not None else 128 + (signum or signal.SIGINT)
    if code:
        raise typer.Exit(code)


def _health(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_latticework/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _ensure_server(state_dir: Path, port: int, scale: float) -> bool:
    """True when this call started the server (so Ctrl-C stops it again)."""
    if _health(port):
        return False
    state_dir.mkdir(parents=True, exist_ok=True)
    log = open(state_dir / "server.log", "ab")  # noqa: SIM115 - the child keeps it
    command = [sys.executable, "-m", "latticework", "server", "--state-dir", str(state_dir), "--api-port", str(port)]
    command += ["--health-interval-scale", str(scale)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (state_dir / _PID_FILE).write_text(str(process.pid))
    deadline = time.monotonic() + 60
    while not _health(port):
        if process.poll() is not None or time.monotonic() > deadline:
            typer.echo(f"latticework up: the server did not start; see {state_dir / 'server.log'}", err=True)
            raise typer.Exit(1)
        time.sleep(0.05)
    typer.echo(f"server started (pid {process.pid}, API http://127.0.0.1:{port}, log {state_dir / 'server.log'})")
    return True


def _stop_server(state_dir: Path) -> None:
    pid_file = state_dir / _PID_FILE
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text())
    pid_file.unlink()
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    typer.echo(f"server stopped (pid {pid})")


def _alive(pid: int) -> bool:
    # A server this process started is its child: reap it, or it stays a zombie that kill(pid, 0) still finds.
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stacks(state_dir: Path, account: str, region: str) -> StackStore:
    from latticework.control.store.factory import open_store

    return StoreStacks(open_store(os.environ.get("LATTICEWORK_STORE"), state_dir), account, region)


def _context(
    state_dir: Path, port: int, account: str, region: str, name: str, template_dir: Path
) -> tuple[Context, StackStore]:
    client = _client_factory(f"http://127.0.0.1:{port}", region)
    ctx = Context(client, state_dir.resolve(), template_dir, account, region, name, sys.executable)
    return ctx, _stacks(state_dir, account, region)


def _with_stack(ctx: Context, name: str) -> Context:
    return Context(ctx.client, ctx.state_dir, ctx.template_dir, ctx.account, ctx.region, name, ctx.python)


def _client_factory(url: str, region: str) -> Callable[[str], Any]:
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    config = Config(retries={"max_attempts": 2}, read_timeout=120)

    @cache
    def client(service: str) -> Any:
        return session.create_client(
            service, region_name=region, endpoint_url=url, aws_access_key_id="latticework",
            aws_secret_access_key="latticework", config=config,
        )  # fmt: skip

    return client


def _wait_ready(doc: dict[str, Any], ctx: Context, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    said = ""
    while waiting := not_ready(doc, ctx, PROVIDERS):
        summary = "; ".join(f"{lid}: {why}" for lid, why in waiting.items())
        if summary != said:
            typer.echo(f"  waiting: {summary}")
            said = summary
        if time.monotonic() > deadline:
            typer.echo(f"latticework up: not ready after {seconds:.0f} s: {summary}; the stack stays deployed "
                       "for a look (`latticework down` deletes it)", err=True)  # fmt: skip
            raise typer.Exit(1)
        time.sleep(0.1)


def _local_urls(doc: dict[str, Any], ctx: Context) -> list[str]:
    """Where a browser reaches services tagged `latticework:open` (value: the path): their tasks' ports on
    127.0.0.1 (DescribeTasks networkBindings)."""
    urls: list[str] = []
    for record in doc.get("Resources", {}).values():
        tags = {t.get("Key"): t.get("Value") for t in record["Properties"].get("Tags", [])}
        if record["Type"] != "AWS::ECS::Service" or "latticework:open" not in tags:
            continue
        urls += _task_urls(ctx.client("ecs"), str(record["Properties"].get("Cluster", "default")),
                           record["Attributes"]["Name"], str(tags["latticework:open"]))  # fmt: skip
    return urls


def _task_urls(ecs: Any, cluster: str, service: str, path: str) -> list[str]:
    arns = ecs.list_tasks(cluster=cluster, serviceName=service).get("taskArns", [])
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns).get("tasks", []) if arns else []
    ports = [b["hostPort"] for t in tasks for c in t.get("containers", []) for b in c.get("networkBindings", [])]
    return [f"http://127.0.0.1:{port}{path}" for port in ports]


def _print_event(event: ResourceEvent) -> None:
    reason = f"  {event.reason}" if event.reason else ""
    typer.echo(f"  {event.status:<20} {event.logical_id:<32} {event.type}{reason}")


def _print_outputs(doc: dict[str, Any], as_json: bool) -> None:
    typer.echo(f"Outputs of {doc['StackName']}:")
    for key, output in doc.get("Outputs", {}).items():
        typer.echo(f"  {key} = {output['Value']}")
