"""What a signal does to `latticework up` at each stage: the decision table, and `up` run in process against a
real server with a provider that sends the signal to this very process at a chosen moment (during a step of the
deploy, or while `up` waits for readiness), so the real handlers are exercised at a deterministic point."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from latticework.cli import up as up_module
from latticework.cli.main import app
from latticework.cli.up import SignalOutcome, after_signal
from latticework.deploy.providers import Applied, Context, Provider

A_SIGNAL = None  # the exit code is 128 + the signal's number


@pytest.mark.parametrize(
    ("stage", "detach", "outcome"),
    [
        ("start", False, SignalOutcome(delete_stack=False, stop_server=True, exit_code=A_SIGNAL)),
        ("deploy", False, SignalOutcome(delete_stack=True, stop_server=True, exit_code=A_SIGNAL)),
        ("wait", False, SignalOutcome(delete_stack=True, stop_server=True, exit_code=A_SIGNAL)),
        ("up", False, SignalOutcome(delete_stack=True, stop_server=True, exit_code=0)),
        ("start", True, SignalOutcome(delete_stack=False, stop_server=True, exit_code=A_SIGNAL)),
        ("deploy", True, SignalOutcome(delete_stack=False, stop_server=True, exit_code=A_SIGNAL)),
        ("wait", True, SignalOutcome(delete_stack=False, stop_server=False, exit_code=A_SIGNAL)),
    ],
)
def test_what_a_signal_does_at_each_stage(stage: Any, detach: bool, outcome: SignalOutcome) -> None:
    assert after_signal(stage, detach) == outcome


class Signaller(Provider):
    """Keeps 'resources' in a dict; `Signal: deploy` sends the signal while the resource is created or updated,
    `Signal: wait` the first time `up` asks whether it is ready."""

    type_name = "Test::Signaller"
    mutable = frozenset({"Signal", "Size"})

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.live: dict[str, dict[str, Any]] = {}
        self.created: list[str] = []
        self.waited = False
        self.signalled_on_delete = False

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        self._signal_if(props, "deploy")
        self.created.append(logical_id)
        self.live[logical_id] = dict(props)
        return Applied(logical_id, logical_id, {"Arn": f"arn:{logical_id}"})

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        self._signal_if(new, "deploy")
        self.live[logical_id] = dict(new)
        return current

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        if props.get("SignalOnDelete") == "yes" and not self.signalled_on_delete:
            self.signalled_on_delete = True
            os.kill(os.getpid(), self.signum)
        del self.live[current.physical_id]

    def waiting_for(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> str | None:
        if props.get("Signal") == "wait" and not self.waited:
            self.waited = True
            self._signal_if(props, "wait")
        return None

    def _signal_if(self, props: Mapping[str, Any], when: str) -> None:
        if props.get("Signal") == when:
            os.kill(os.getpid(), self.signum)


TEMPLATE = """
Parameters:
  When: {Type: String, Default: never}
  Size: {Type: String, Default: "1"}
  Again: {Type: String, Default: "no"}
Resources:
  First: {Type: Test::Signaller, Properties: {Size: !Ref Size}}
  Second: {Type: Test::Signaller, Properties: {Parent: !GetAtt First.Arn, Signal: !Ref When}}
  Third: {Type: Test::Signaller, Properties: {Parent: !GetAtt Second.Arn, SignalOnDelete: !Ref Again}}
"""


@pytest.fixture
def up_in_process(
    make_server: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[Any, Signaller]]:
    """Runs `up` (or `down`) in this process on a private server (so `up` starts none), with Test::Signaller
    known."""
    server = make_server()
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)
    provider = Signaller(signal.SIGTERM)
    monkeypatch.setitem(up_module.PROVIDERS, "Test::Signaller", provider)  # type: ignore[index]

    def run(signum: int, *args: str) -> tuple[Any, Signaller]:
        provider.signum, provider.waited = signum, False
        before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        where = ["--state-dir", str(server.state_dir), "--api-port", str(server.port), "--stack-name", "sig"]
        command = ["down", *where, "--keep-server"] if args == ("down",) else ["up", str(template), *where, *args]
        result = CliRunner().invoke(app, command)
        assert {number: signal.getsignal(number) for number in before} == before, "up left its handlers behind"
        return result, provider

    return run


@pytest.mark.parametrize("detach", [False, True])
def test_a_signal_during_a_step_stops_after_it_and_rolls_back(up_in_process: Any, detach: bool) -> None:
    """SIGTERM arrives while Second is being created: Second completes (cut off mid-call it could be left behind,
    unrecorded), Third is never started, First and Second are deleted again; exit 128 + 15."""
    extra = ["--detach"] if detach else []
    result, provider = up_in_process(signal.SIGTERM, "--parameter", "When=deploy", *extra)
    assert result.exit_code == 128 + signal.SIGTERM, result.output
    assert provider.created == ["First", "Second"] and provider.live == {}
    assert "cancelled before Third; this run's steps were rolled back" in result.output
    assert "CREATE_COMPLETE      Second" in result.output and "rolled back" in result.output


def test_a_signal_during_an_update_restores_the_last_deploy(up_in_process: Any) -> None:
    """With --detach an interrupted update is undone and the stack stays as the last good deploy left it."""
    first, provider = up_in_process(signal.SIGINT, "--detach")
    assert first.exit_code == 0, first.output
    result, provider = up_in_process(signal.SIGINT, "--detach", "--parameter", "When=deploy", "--parameter", "Size=2")
    assert result.exit_code == 128 + signal.SIGINT, result.output
    assert provider.live["First"]["Size"] == "1" and provider.live["Second"]["Signal"] == "never"
    assert "stack sig stays deployed" in result.output


@pytest.mark.parametrize(("detach", "left"), [(False, []), (True, ["First", "Second", "Third"])])
def test_a_signal_while_waiting_for_readiness(up_in_process: Any, detach: bool, left: list[str]) -> None:
    """Deployed, then SIGINT while `up` waits for readiness: without --detach the stack is deleted; with it the
    deploy stays (it completed) and `up` says how to delete it."""
    extra = ["--detach"] if detach else []
    result, provider = up_in_process(signal.SIGINT, "--parameter", "When=wait", *extra)
    assert result.exit_code == 128 + signal.SIGINT, result.output
    assert sorted(provider.live) == left
    assert ("tearing down" in result.output) is not detach


def test_a_second_signal_interrupts_the_teardown_and_down_finishes_it(up_in_process: Any) -> None:
    """SIGINT while waiting starts the teardown; a second one cuts it off at once (Ctrl-C twice is how one
    insists). What is left stays in the stack's record, so `latticework down` deletes the rest."""
    result, provider = up_in_process(signal.SIGINT, "--parameter", "When=wait", "--parameter", "Again=yes")
    assert result.exit_code == 128 + signal.SIGINT, result.output
    assert "teardown interrupted; `latticework down` finishes it" in result.output
    assert sorted(provider.live) == ["First", "Second", "Third"]  # Third's delete was cut off
    finished, provider = up_in_process(signal.SIGINT, "down")
    assert finished.exit_code == 0, finished.output
    assert provider.live == {}
