"""The pure core of container-style services: restart backoff, the rolling-deployment planner, task health,
the task lifecycle table, how a container definition becomes a process, and the JSON 1.1 protocol."""

from __future__ import annotations

import json

import pytest
from botocore.model import ServiceModel
from hypothesis import given
from hypothesis import strategies as st

from latticework.compute.ecs_api import protocol
from latticework.compute.ecs_api.errors import ClientException, InvalidParameterException
from latticework.compute.services.backoff import MAX_SECONDS, restart_delay
from latticework.compute.services.deployment import LiveTask, TargetView, plan_deployment, task_phase
from latticework.compute.services.launch import NotRunnable, launch_spec
from latticework.compute.services.model import Phase
from latticework.compute.services.states import IllegalTransition, TaskEvent, TaskStatus, next_status
from latticework.control.api.model import service_model

H, S, U = Phase.HEALTHY, Phase.STARTING, Phase.UNHEALTHY


@pytest.mark.parametrize(
    ("failures", "scale", "delay"),
    [(0, 1.0, 0.0), (1, 1.0, 5.0), (2, 1.0, 10.0), (3, 1.0, 20.0), (4, 0.1, 4.0), (9, 1.0, 1280.0),
     (10, 1.0, MAX_SECONDS), (10_000, 1.0, MAX_SECONDS), (-1, 1.0, 0.0)],
)  # fmt: skip
def test_restart_delay_doubles_up_to_27_minutes(failures: int, scale: float, delay: float) -> None:
    assert restart_delay(failures, scale) == pytest.approx(delay)


@given(st.integers(min_value=1, max_value=10_000))
def test_restart_delay_never_shrinks_with_more_failures(failures: int) -> None:
    assert restart_delay(failures) <= restart_delay(failures + 1) <= MAX_SECONDS


def tasks(*spec: tuple[str, str, Phase]) -> list[LiveTask]:
    return [LiveTask(i, d, p, started_at=n) for n, (i, d, p) in enumerate(spec)]


@pytest.mark.parametrize(
    ("desired", "minimum", "maximum", "live", "stopping", "start", "stop"),
    [
        # a new service starts everything at once
        (2, 100, 200, [], 0, 2, ()),
        # steady: nothing to do
        (2, 100, 200, [("a", "new", H), ("b", "new", H)], 0, 0, ()),
        # a crashed task (gone from the live list) is replaced
        (2, 100, 200, [("a", "new", H)], 0, 1, ()),
        # rolling 100/200: start the new ones beside the old, stop nothing yet
        (2, 100, 200, [("a", "old", H), ("b", "old", H)], 0, 2, ()),
        # new ones still starting: old ones must stay (minimum healthy 100 %)
        (2, 100, 200, [("a", "old", H), ("b", "old", H), ("c", "new", S), ("d", "new", S)], 0, 0, ()),
        # new ones healthy: both old ones go
        (2, 100, 200, [("a", "old", H), ("b", "old", H), ("c", "new", H), ("d", "new", H)], 0, 0, ("b", "a")),
        # rolling 50/100: no room above desired, so one old task (the newest) stops first
        (2, 50, 100, [("a", "old", H), ("b", "old", H)], 0, 0, ("b",)),
        # ... and its replacement starts once it is gone
        (2, 50, 100, [("b", "old", H)], 0, 1, ()),
        # a task still draining holds its place under the maximum
        (2, 50, 100, [("b", "old", H)], 1, 0, ()),
        # an unhealthy or starting old task never counts as healthy, so it can always stop
        (2, 100, 200, [("a", "old", U), ("b", "old", S), ("c", "new", S), ("d", "new", S)], 0, 0, ("a", "b")),
        # scale out while a stop is still draining: the new task waits for its place
        (2, 100, 100, [("a", "new", H)], 1, 0, ()),
        # scale in: the worst tasks go first (unhealthy, then starting, then the newest healthy)
        (1, 100, 200, [("a", "new", H), ("b", "new", S), ("c", "new", U)], 0, 0, ("c", "b")),
        (1, 100, 200, [("a", "new", H), ("b", "new", H)], 0, 0, ("b",)),
        # scale to zero: everything stops
        (0, 100, 200, [("a", "new", H), ("b", "old", H)], 0, 0, ("a", "b")),
        # scale out 2 -> 5 within maximumPercent 200
        (5, 100, 200, [("a", "new", H), ("b", "new", H)], 0, 3, ()),
        # maximum 100 and minimum 100 leave no room: nothing moves (ECS needs one of them to give)
        (2, 100, 100, [("a", "old", H), ("b", "old", H)], 0, 0, ()),
    ],
)
def test_plan_deployment(
    desired: int,
    minimum: int,
    maximum: int,
    live: list[tuple[str, str, Phase]],
    stopping: int,
    start: int,
    stop: tuple[str, ...],
) -> None:
    plan = plan_deployment(desired, minimum, maximum, "new", tasks(*live), stopping)
    assert (plan.start, plan.stop) == (start, stop)


phases = st.sampled_from([H, S, U])


@given(
    st.integers(0, 8),
    st.integers(0, 100),
    st.integers(100, 200),
    st.lists(st.tuples(st.sampled_from(["old", "new"]), phases), max_size=12),
)
def test_plan_never_breaks_the_limits(desired: int, minimum: int, maximum: int, spec: list[tuple[str, Phase]]) -> None:
    """Healthy tasks never drop below the minimum because of stops (unless fewer were healthy to begin with), and
    starts never push the total over the maximum."""
    live = [LiveTask(str(i), d, p) for i, (d, p) in enumerate(spec)]
    plan = plan_deployment(desired, minimum, maximum, "new", live)
    healthy_before = sum(1 for t in live if t.phase is H)
    healthy_after = sum(1 for t in live if t.phase is H and t.id not in plan.stop)
    lower = -(-desired * minimum // 100)
    assert healthy_after >= min(lower, healthy_before) or desired < len([t for t in live if t.deployment == "new"])
    upper = max(desired * maximum // 100, lower)
    assert plan.start == 0 or len(live) - len(plan.stop) + plan.start <= upper


@pytest.mark.parametrize(
    ("running", "statuses", "now", "phase"),
    [
        (False, [], 100.0, S),
        (True, [], 100.0, H),  # no load balancer checks: healthy once running
        (True, ["UNUSED"], 100.0, H),  # a group no Lattice service uses runs no checks
        (True, ["INITIAL"], 100.0, S),
        (True, ["HEALTHY", "INITIAL"], 100.0, S),
        (True, ["HEALTHY", "HEALTHY"], 100.0, H),
        (True, ["UNHEALTHY"], 105.0, S),  # inside the 10 s grace period
        (True, ["UNHEALTHY"], 110.0, U),
    ],
)
def test_task_phase(running: bool, statuses: list[str], now: float, phase: Phase) -> None:
    assert task_phase(running, [TargetView(s) for s in statuses], 100.0, 10.0, now) is phase


@pytest.mark.parametrize(
    ("status", "event", "after"),
    [
        (TaskStatus.PROVISIONING, TaskEvent.LAUNCHED, TaskStatus.PENDING),
        (TaskStatus.PENDING, TaskEvent.LISTENING, TaskStatus.RUNNING),
        (TaskStatus.RUNNING, TaskEvent.STOP, TaskStatus.DEACTIVATING),
        (TaskStatus.DEACTIVATING, TaskEvent.DRAINED, TaskStatus.STOPPING),
        (TaskStatus.STOPPING, TaskEvent.EXITED, TaskStatus.STOPPED),
        (TaskStatus.RUNNING, TaskEvent.EXITED, TaskStatus.STOPPED),
    ],
)
def test_task_lifecycle(status: TaskStatus, event: TaskEvent, after: TaskStatus) -> None:
    assert next_status(status, event) is after


@pytest.mark.parametrize(
    ("status", "event"),
    [(TaskStatus.STOPPED, TaskEvent.LAUNCHED), (TaskStatus.PROVISIONING, TaskEvent.LISTENING),
     (TaskStatus.RUNNING, TaskEvent.LAUNCHED)],
)  # fmt: skip
def test_illegal_task_transition_raises(status: TaskStatus, event: TaskEvent) -> None:
    with pytest.raises(IllegalTransition):
        next_status(status, event)


def spec_of(container: dict[str, object], images: dict[str, object] | None = None, port: int | None = 4000) -> object:
    return launch_spec(
        {"name": "web", **container},
        task_arn="arn:aws:ecs:us-west-2:000000000000:task/c/abc",
        region="us-west-2",
        task_dir="/state/tasks/c/abc",
        port=port,
        images=images or {},
        vpc_env={"HTTP_PROXY": "http://127.0.0.1:9"},
        server_env={"PATH": "/bin", "SECRET": "not passed"},
    )


def test_launch_joins_entry_point_and_command_and_builds_the_environment() -> None:
    spec = spec_of({"entryPoint": ["python", "-m"], "command": ["app"],
                    "environment": [{"name": "PORT", "value": "1"}, {"name": "MODE", "value": "x"}]})  # fmt: skip
    assert spec.argv == ("python", "-m", "app")  # type: ignore[attr-defined]
    assert spec.cwd == "/state/tasks/c/abc"  # type: ignore[attr-defined]
    env = spec.env  # type: ignore[attr-defined]
    assert env["PORT"] == "4000"  # the chosen port wins over the definition's
    assert (env["MODE"], env["PATH"], env["HTTP_PROXY"], env["AWS_REGION"]) == ("x", "/bin", "http://127.0.0.1:9",
                                                                                 "us-west-2")  # fmt: skip
    assert "SECRET" not in env


@pytest.mark.parametrize(
    ("images", "argv"),
    [
        ({"shop/ui:1": ["node", "server.js"]}, ("node", "server.js")),
        ({"shop/ui:1": "npm run start"}, ("npm", "run", "start")),
    ],
)
def test_launch_maps_an_image_through_the_images_table(images: dict[str, object], argv: tuple[str, ...]) -> None:
    assert spec_of({"image": "shop/ui:1", "workingDirectory": "/srv"}, images).argv == argv  # type: ignore[attr-defined]


def test_launch_refuses_an_image_with_no_local_command() -> None:
    with pytest.raises(NotRunnable, match=r"CannotPullContainerError: image 'nginx' .* no container engine"):
        spec_of({"image": "nginx"})


ECS: ServiceModel = service_model("ecs")


@pytest.mark.parametrize(
    ("target", "error"),
    [("AmazonEC2ContainerServiceV20141113.Nope", ClientException), ("Other.ListClusters", ClientException)],
)
def test_unknown_targets_are_client_errors(target: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        protocol.operation_for(ECS, target)


def test_input_is_validated_against_the_model() -> None:
    operation = protocol.operation_for(ECS, "AmazonEC2ContainerServiceV20141113.CreateService")
    with pytest.raises(InvalidParameterException, match="serviceName"):
        protocol.parse_input(operation, b'{"taskDefinition": "web"}')
    params = protocol.parse_input(operation, b'{"serviceName": "s", "unknownMember": 1, "desiredCount": 2}')
    assert params == {"serviceName": "s", "desiredCount": 2}


def test_output_timestamps_are_epoch_seconds_and_errors_carry_type() -> None:
    operation = protocol.operation_for(ECS, "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition")
    response = protocol.serialize_output(operation, {"taskDefinition": {"family": "f", "registeredAt": 12.5, "x": 1}})
    assert json.loads(response.body) == {"taskDefinition": {"family": "f", "registeredAt": 12.5}}
    error = protocol.error_response(ClientException("nope"))
    assert (error.status, json.loads(error.body)) == (400, {"__type": "ClientException", "message": "nope"})
