"""The pure engine: template parsing, intrinsics, conditions, parameters, ordering, and the deployer's
create / update-by-diff / replace / delete / rollback over an in-memory provider and stack store."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from latticework.deploy.engine import DeployRequest, ResourceEvent, deploy, destroy
from latticework.deploy.errors import CycleError, DeployCancelled, ParameterError, TemplateError, UnsupportedTypeError
from latticework.deploy.graph import creation_order, dependencies
from latticework.deploy.intrinsics import Scope, evaluate_conditions, resolve
from latticework.deploy.parameters import resolve_parameters
from latticework.deploy.providers import Applied, Context, Provider
from latticework.deploy.stacks import MemoryStacks
from latticework.deploy.template import parse_template

PARAMS = {"AWS::Region": "us-west-2", "AWS::AccountId": "000000000000", "AWS::StackName": "s", "Env": "prod"}
SCOPE = Scope(
    PARAMS,
    mappings={"Sizes": {"prod": {"Count": 3}}},
    conditions={"IsProd": True, "IsDev": False},
    refs={"Api": "arn:api"},
    attributes={"Api": {"Arn": "arn:api", "DnsEntry.DomainName": "api.example"}},
    exports={"shared-net": "sn-1"},
    resource_ids=frozenset({"Api", "Later"}),
)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Ref": "Env"}, "prod"),
        ({"Ref": "Api"}, "arn:api"),
        ({"Ref": "AWS::Region"}, "us-west-2"),
        ({"Fn::GetAtt": ["Api", "DnsEntry.DomainName"]}, "api.example"),
        ({"Fn::Sub": "${AWS::StackName}-${Env}-${Api.Arn}-${!Literal}"}, "s-prod-arn:api-${Literal}"),
        ({"Fn::Sub": ["${A}/${Env}", {"A": {"Ref": "Api"}}]}, "arn:api/prod"),
        ({"Fn::Join": ["-", ["a", {"Ref": "Env"}, 1]]}, "a-prod-1"),
        ({"Fn::Select": ["1", ["a", "b"]]}, "b"),
        ({"Fn::Split": [",", "a,b,,c"]}, ["a", "b", "", "c"]),
        ({"Fn::If": ["IsProd", "big", "small"]}, "big"),
        ({"Fn::If": ["IsDev", "big", "small"]}, "small"),
        ({"Fn::Equals": [{"Ref": "Env"}, "prod"]}, True),
        ({"Fn::Not": [{"Fn::Equals": ["a", "b"]}]}, True),
        ({"Fn::And": [{"Condition": "IsProd"}, {"Fn::Equals": [1, "1"]}]}, True),
        ({"Fn::Or": [{"Condition": "IsDev"}, {"Fn::Equals": ["x", "y"]}]}, False),
        ({"Fn::GetAZs": ""}, ["us-west-2a", "us-west-2b", "us-west-2c"]),
        ({"Fn::Select": [0, {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}, "us-west-2a"),
        ({"Fn::ImportValue": "shared-net"}, "sn-1"),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Count"]}, 3),
        ({"Fn::Cidr": ["10.0.0.0/16", 2, 14]}, ["10.0.0.0/18", "10.0.64.0/18"]),
        ({"A": 1, "B": {"Ref": "AWS::NoValue"}}, {"A": 1}),
        ([1, {"Fn::If": ["IsDev", 2, {"Ref": "AWS::NoValue"}]}], [1]),
    ],
)
def test_intrinsics(expression: Any, expected: Any) -> None:
    assert resolve(expression, SCOPE, "Resources.X.Properties") == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"Ref": "Nope"}, "Ref to 'Nope'"),
        ({"Ref": "Later"}, "Later is not created yet"),
        ({"Fn::GetAtt": ["Api", "Port"]}, "Api has no attribute 'Port'"),
        ({"Fn::Select": [5, ["a"]]}, "out of range"),
        ({"Fn::ImportValue": "missing"}, "no stack exports 'missing'"),
        ({"Fn::If": ["Unknown", 1, 2]}, "no condition named 'Unknown'"),
        ({"Fn::Bogus": 1}, "unknown intrinsic function Fn::Bogus"),
    ],
)
def test_intrinsic_errors_name_the_property(expression: Any, message: str) -> None:
    with pytest.raises(TemplateError, match=message) as caught:
        resolve({"Name": expression}, SCOPE, "Resources.Svc.Properties")
    assert "Resources.Svc.Properties.Name" in str(caught.value)


def test_yaml_short_tags_and_json_parse_alike() -> None:
    yaml_text = "Resources:\n  A:\n    Type: T\n    Properties:\n      X: !GetAtt B.Arn\n      Y: !Sub '${B}'\n" \
        "      Z: !Join ['', [!Ref B]]\n      V: 2012-10-17\n  B: {Type: T}\n"  # fmt: skip
    json_text = (
        '{"Resources": {"A": {"Type": "T", "Properties": {"X": {"Fn::GetAtt": ["B", "Arn"]}, "Y": {"Fn::Sub": "${B}"},'
        ' "Z": {"Fn::Join": ["", [{"Ref": "B"}]]}, "V": "2012-10-17"}}, "B": {"Type": "T"}}}'
    )
    assert parse_template(yaml_text).resources == parse_template(json_text).resources


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Resources: {}", "at least one resource"),
        ("Resources:\n  A: {Properties: {}}", "Resources.A: every resource needs a Type"),
        ("Resources:\n  a-b: {Type: T}", "alphanumeric"),
        ("Resoures:\n  A: {Type: T}", "unknown top-level section"),
        ("Resources: [", "not valid YAML"),
        ("Resources:\n  A: {Type: T, DependsOn: Nope}", "DependsOn names 'Nope'"),
    ],
)
def test_template_errors(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        dependencies(parse_template(text).resources)


@pytest.mark.parametrize(
    ("declared", "given", "expected"),
    [
        ({"A": {"Type": "String", "Default": "x"}}, {}, {"A": "x"}),
        ({"A": {"Type": "String", "Default": "x"}}, {"A": "y"}, {"A": "y"}),
        ({"A": {"Type": "Number", "Default": 5}}, {}, {"A": "5"}),
        ({"A": {"Type": "CommaDelimitedList", "Default": "a, b"}}, {}, {"A": ["a", "b"]}),
        ({"A": {"Type": "List<Number>"}}, {"A": "1,2"}, {"A": ["1", "2"]}),
        ({"A": {"Type": "String", "AllowedValues": ["ALB", "IP"], "Default": "IP"}}, {"A": "ALB"}, {"A": "ALB"}),
    ],
)
def test_parameters(declared: Any, given: Any, expected: Any) -> None:
    assert resolve_parameters(declared, given) == expected


@pytest.mark.parametrize(
    ("declared", "given", "message"),
    [
        ({"A": {"Type": "String"}}, {}, "pass --parameter A=VALUE"),
        ({"A": {"Type": "String", "AllowedValues": ["x"]}}, {"A": "y"}, "not one of the AllowedValues"),
        ({"A": {"Type": "Number"}}, {"A": "ten"}, "not a Number"),
        ({"A": {"Type": "Number", "MaxValue": 3}}, {"A": "4"}, "above MaxValue"),
        ({"A": {"Type": "String", "AllowedPattern": "[a-z]+"}}, {"A": "A1"}, "AllowedPattern"),
        ({"A": {"Type": "String", "MinLength": 2}}, {"A": "a"}, "shorter than MinLength"),
        ({"A": {"Type": "String", "Default": "a"}}, {"B": "x"}, "declares no parameter B"),
    ],
)
def test_parameter_errors(declared: Any, given: Any, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        resolve_parameters(declared, given)


def test_conditions_may_use_each_other_in_any_order() -> None:
    conditions = {"Both": {"Fn::And": [{"Condition": "Prod"}, {"Condition": "East"}]},
                  "Prod": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                  "East": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}]}}  # fmt: skip
    assert evaluate_conditions(conditions, SCOPE) == {"Both": True, "Prod": True, "East": True}


def test_circular_conditions_are_reported() -> None:
    conditions = {"A": {"Fn::Not": [{"Condition": "B"}]}, "B": {"Fn::Not": [{"Condition": "A"}]}}
    with pytest.raises(TemplateError, match="circle"):
        evaluate_conditions(conditions, SCOPE)


def test_order_follows_references_and_depends_on() -> None:
    text = """
Resources:
  Listener: {Type: T, Properties: {Service: !Ref Svc, Group: !GetAtt Group.Arn}}
  Svc: {Type: T, DependsOn: Net}
  Group: {Type: T, Properties: {Name: !Sub "${Net}-g"}}
  Net: {Type: T}
"""
    order = creation_order(dependencies(parse_template(text).resources))
    assert order.index("Net") < order.index("Svc") < order.index("Listener")
    assert order.index("Group") < order.index("Listener") and order.index("Net") < order.index("Group")


def test_cycles_are_reported_with_their_members() -> None:
    text = "Resources:\n  A: {Type: T, Properties: {X: !Ref B}}\n  B: {Type: T, Properties: {X: !GetAtt C.Arn}}\n" \
        "  C: {Type: T, DependsOn: A}\n"  # fmt: skip
    with pytest.raises(CycleError, match="A -> B -> C -> A"):
        creation_order(dependencies(parse_template(text).resources))


# -- the deployer over an in-memory provider -----------------------------------------------------------------


class Thing(Provider):
    """Keeps 'resources' in a dict; Name is immutable, Size mutable; FailOn makes create fail."""

    type_name = "Test::Thing"
    mutable = frozenset({"Size"})

    def __init__(self) -> None:
        self.live: dict[str, dict[str, Any]] = {}
        self.counter = 0

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        if props.get("Fail"):
            raise RuntimeError(f"{logical_id} refused")
        self.counter += 1
        physical = f"thing-{self.counter}"
        self.live[physical] = dict(props)
        return Applied(physical, physical, {"Arn": f"arn:{physical}"})

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        self.live[current.physical_id] = dict(new)
        return current

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        del self.live[current.physical_id]


TEMPLATE = """
Parameters:
  Size: {Type: Number, Default: 1}
  Name: {Type: String, Default: a}
  Extra: {Type: String, Default: "no", AllowedValues: ["yes", "no"]}
  Fail: {Type: String, Default: ""}
Conditions:
  WithExtra: !Equals [!Ref Extra, "yes"]
Resources:
  Base: {Type: Test::Thing, Properties: {Name: !Ref Name, Size: !Ref Size}}
  Child: {Type: Test::Thing, Properties: {Parent: !GetAtt Base.Arn}}
  Extra: {Type: Test::Thing, Condition: WithExtra, Properties: {Parent: !Ref Child, Fail: !Ref Fail}}
Outputs:
  BaseArn: {Value: !GetAtt Base.Arn, Export: {Name: !Sub "${AWS::StackName}-base"}}
"""


@pytest.fixture
def world() -> tuple[Thing, MemoryStacks, Context, list[ResourceEvent]]:
    thing = Thing()
    ctx = Context(lambda service: None, Path("/tmp"), Path("/tmp"), "000000000000", "us-west-2", "s")
    return thing, MemoryStacks(), ctx, []


def run(world: Any, text: str = TEMPLATE, **params: str) -> dict[str, Any]:
    thing, stacks, ctx, events = world
    events.clear()
    return deploy(DeployRequest(text, "s", params), stacks, ctx, {"Test::Thing": thing}, events.append)


def test_create_then_rerun_is_idempotent(world: Any) -> None:
    doc = run(world)
    assert world[0].live == {"thing-1": {"Name": "a", "Size": "1"}, "thing-2": {"Parent": "arn:thing-1"}}
    assert doc["Outputs"]["BaseArn"] == {"Value": "arn:thing-1", "Description": "", "ExportName": "s-base"}
    run(world)
    assert world[3] == [] and world[0].counter == 2


def test_mutable_change_updates_in_place_and_immutable_change_replaces(world: Any) -> None:
    run(world)
    run(world, Size="2")
    assert [e.status for e in world[3]] == ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"]
    assert world[0].live["thing-1"]["Size"] == "2"
    run(world, Size="2", Name="b")  # Name is immutable: a new Base, then Child follows its new Arn
    assert sorted(world[0].live) == ["thing-3", "thing-4"]
    assert world[0].live["thing-4"] == {"Parent": "arn:thing-3"}


def test_condition_adds_and_removes_a_resource(world: Any) -> None:
    run(world)
    run(world, Extra="yes")
    assert world[0].live["thing-3"] == {"Parent": "thing-2", "Fail": ""}
    run(world, Extra="no")
    assert "thing-3" not in world[0].live and [e.status for e in world[3]][-1] == "DELETE_COMPLETE"


def test_failure_rolls_back_this_runs_steps_and_keeps_the_last_record(world: Any) -> None:
    run(world)
    with pytest.raises(Exception, match="Extra refused"):
        run(world, Size="5", Extra="yes", Fail="yes")
    assert world[0].live == {"thing-1": {"Name": "a", "Size": "1"}, "thing-2": {"Parent": "arn:thing-1"}}
    assert world[1].get("s")["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"


def test_failed_create_leaves_nothing(world: Any) -> None:
    with pytest.raises(Exception, match="Extra refused"):
        run(world, Extra="yes", Fail="yes")
    assert world[0].live == {} and world[1].get("s") is None


def test_unsupported_types_fail_unless_skipped(world: Any) -> None:
    text = TEMPLATE + "  Odd: {Value: x}\n"
    text = text.replace("Outputs:", "  Weird: {Type: AWS::Nope::Thing}\nOutputs:")
    with pytest.raises(UnsupportedTypeError, match=r"Weird \(AWS::Nope::Thing\)"):
        run(world, text.replace("  Odd: {Value: x}\n", ""))
    thing, stacks, ctx, events = world
    deploy(DeployRequest(text.replace("  Odd: {Value: x}\n", ""), "s", {}, skip_unsupported=True), stacks, ctx,
           {"Test::Thing": thing}, events.append)  # fmt: skip
    assert ResourceEvent("Weird", "AWS::Nope::Thing", "SKIPPED", "unsupported type (--skip-unsupported)") in events


def test_import_value_between_stacks_and_delete_order(world: Any) -> None:
    thing, stacks, ctx, events = world
    run(world)
    other = "Resources:\n  User: {Type: Test::Thing, Properties: {Uses: !ImportValue s-base}}\n"
    deploy(DeployRequest(other, "t", {}), stacks, ctx, {"Test::Thing": thing}, events.append)
    assert thing.live["thing-3"] == {"Uses": "arn:thing-1"}
    with pytest.raises(Exception, match="stacks t import"):
        destroy("s", stacks, ctx, {"Test::Thing": thing}, events.append)
    destroy("t", stacks, ctx, {"Test::Thing": thing}, events.append)
    events.clear()
    assert destroy("s", stacks, ctx, {"Test::Thing": thing}, events.append)
    assert [e.logical_id for e in events if e.status == "DELETE_COMPLETE"] == ["Child", "Base"]
    assert thing.live == {}


def test_a_cancel_stops_between_steps_and_rolls_back(world: Any) -> None:
    """Asked to stop after Base was created: Child is never started, Base is deleted again, no record is kept."""
    thing, stacks, ctx, events = world
    asked = iter([False, True])
    with pytest.raises(DeployCancelled, match="cancelled before Child"):
        deploy(DeployRequest(TEMPLATE, "s", {}), stacks, ctx, {"Test::Thing": thing}, events.append,
               cancelled=lambda: next(asked))  # fmt: skip
    assert thing.live == {} and thing.counter == 1 and stacks.get("s") is None
    assert [(e.logical_id, e.status) for e in events][-1] == ("Base", "DELETE_COMPLETE")


def test_a_cancelled_update_keeps_the_last_record(world: Any) -> None:
    run(world)
    thing, stacks, ctx, events = world
    asked = iter([False, True])
    with pytest.raises(DeployCancelled):
        deploy(DeployRequest(TEMPLATE, "s", {"Size": "7"}), stacks, ctx, {"Test::Thing": thing}, events.append,
               cancelled=lambda: next(asked))  # fmt: skip
    assert thing.live["thing-1"] == {"Name": "a", "Size": "1"}  # updated, then updated back
    assert stacks.get("s")["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
