"""The local credential registry: principal ARNs, entries and files, and the store-backed add / replace /
remove / list; the CLI (`latticework principals`) and the control plane's account for a registered key."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from latticework.auth import registry
from latticework.auth.principals import PrincipalError, parse_principal_arn
from latticework.cli.main import app
from latticework.control.store.sqlite import SqliteStore

ALICE = "arn:aws:iam::111122223333:user/alice"
SESSION = "arn:aws:sts::444455556666:assumed-role/checkout/task-7"


@pytest.mark.parametrize(
    ("arn", "account", "kind", "session", "role"),
    [
        (ALICE, "111122223333", "User", None, None),
        ("arn:aws:iam::111122223333:role/orders", "111122223333", "Role", None, None),
        (SESSION, "444455556666", "AssumedRole", "task-7", "arn:aws:iam::444455556666:role/checkout"),
        ("arn:aws:iam::111122223333:root", "111122223333", "Account", None, None),
        ("arn:aws:iam::111122223333:role/path/to/r", "111122223333", "Role", None, None),
    ],
)
def test_principal_arns_give_account_type_and_session(
    arn: str, account: str, kind: str, session: str | None, role: str | None
) -> None:
    principal = parse_principal_arn(arn)
    assert (principal.account, principal.type, principal.session_name, principal.role_arn) == (
        account,
        kind,
        session,
        role,
    )


@pytest.mark.parametrize(
    "arn",
    [
        "alice",
        "arn:aws:iam::1111:user/alice",  # account is 12 digits
        "arn:aws:iam::111122223333:user/",  # no name
        "arn:aws:iam::111122223333:assumed-role/r/s",  # sessions are sts ARNs
        "arn:aws:sts::111122223333:assumed-role/only-role",  # no session name
        "arn:aws:s3:::bucket",
    ],
)
def test_bad_principal_arns_are_refused_with_the_accepted_forms(arn: str) -> None:
    with pytest.raises(PrincipalError, match="arn:aws:"):
        parse_principal_arn(arn)


def _entry(**changes: Any) -> dict[str, Any]:
    entry = {"accessKeyId": "AKIAALICE00000000001", "secretAccessKey": "s3cret", "arn": ALICE}
    entry.update(changes)
    return entry


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"accessKeyId": "short"}, "accessKeyId"),
        ({"accessKeyId": "AKIA-WITH-DASHES-0001"}, "accessKeyId"),
        ({"secretAccessKey": ""}, "secretAccessKey"),
        ({"arn": None}, "arn"),
        ({"arn": "bob"}, "not an IAM principal ARN"),
        ({"tags": {"team": 1}}, "tags"),
        ({"secret": "x"}, "unknown field"),
    ],
)
def test_bad_entries_name_the_field_to_fix(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(registry.RegistryError, match=problem):
        registry.identity_from_entry(_entry(**changes))


def test_entry_round_trips_through_the_file_format() -> None:
    identity = registry.identity_from_entry(
        _entry(orgId="o-abc123", tags={"team": "retail"}, sessionToken="tok", identityPolicy={"Version": "2012-10-17"})
    )
    again = registry.identity_from_entry(registry.entry_of(identity))
    assert again == identity
    assert identity.principal.org_id == "o-abc123"
    assert dict(identity.principal.tags) == {"team": "retail"}
    assert json.loads(identity.principal.identity_policy or "") == {"Version": "2012-10-17"}


def test_load_file_reports_the_entry_at_fault(tmp_path: Path) -> None:
    path = tmp_path / "principals.json"
    path.write_text(json.dumps({"principals": [_entry(), _entry(accessKeyId="AKIABOB", arn=ALICE)]}))
    with pytest.raises(registry.RegistryError, match=r"principals\[1\]: accessKeyId"):
        registry.load_file(path)
    path.write_text(json.dumps([_entry()]))
    with pytest.raises(registry.RegistryError, match="at the top level"):
        registry.load_file(path)
    path.write_text(json.dumps({"principals": [_entry(), _entry()]}))
    with pytest.raises(registry.RegistryError, match="appears twice"):
        registry.load_file(path)


def test_store_add_replace_remove_and_list(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "db.sqlite")
    try:
        before = store.config_version()
        alice = registry.identity_from_entry(_entry())
        bob = registry.identity_from_entry(_entry(accessKeyId="AKIABOB0000000000001", arn=SESSION))
        registry.add_identities(store, [alice, bob])
        assert store.config_version() > before, "the registry is configuration: the data plane must see changes"
        replaced = registry.identity_from_entry(_entry(secretAccessKey="rotated"))
        registry.add_identities(store, [replaced])
        listed = registry.list_identities(store)
        assert [i.access_key for i in listed] == ["AKIAALICE00000000001", "AKIABOB0000000000001"]
        assert listed[0].secret_key == "rotated"
        with store.transaction() as tx:
            found = registry.lookup_in(tx, "AKIABOB0000000000001")
        assert found is not None and found.principal.account == "444455556666"
        assert registry.remove_identity(store, "AKIAALICE00000000001")
        assert not registry.remove_identity(store, "AKIAALICE00000000001")
        assert [i.access_key for i in registry.list_identities(store)] == ["AKIABOB0000000000001"]
    finally:
        store.close()


def test_generated_keys_look_like_aws_keys() -> None:
    assert registry.new_access_key().startswith("AKIA") and len(registry.new_access_key()) == 20
    assert registry.new_access_key(temporary=True).startswith("ASIA")
    assert len(registry.new_secret_key()) == 40


def test_cli_add_list_remove(tmp_path: Path) -> None:
    runner = CliRunner()
    state = ["--state-dir", str(tmp_path / "state")]
    added = runner.invoke(app, ["principals", "add", ALICE, "--org-id", "o-abc123", "--tag", "team=retail", *state])
    assert added.exit_code == 0, added.output
    exports = dict(line.removeprefix("export ").split("=", 1) for line in added.output.splitlines())
    key = exports["AWS_ACCESS_KEY_ID"]
    listed = runner.invoke(app, ["principals", "list", "--json", *state])
    entries = json.loads(listed.output)["principals"]
    assert [(e["accessKeyId"], e["arn"], e["orgId"], e["tags"]) for e in entries] == [
        (key, ALICE, "o-abc123", {"team": "retail"})
    ]
    assert entries[0]["secretAccessKey"] == exports["AWS_SECRET_ACCESS_KEY"]
    table = runner.invoke(app, ["principals", "list", *state], env={"COLUMNS": "250"})
    assert key in table.output and exports["AWS_SECRET_ACCESS_KEY"] not in table.output
    assert runner.invoke(app, ["principals", "remove", key, *state]).exit_code == 0
    gone = runner.invoke(app, ["principals", "remove", key, *state])
    assert gone.exit_code == 1


def test_cli_refuses_a_bad_arn_and_a_bad_file(tmp_path: Path) -> None:
    runner = CliRunner()
    state = ["--state-dir", str(tmp_path / "state")]
    bad = runner.invoke(app, ["principals", "add", "alice", *state])
    assert bad.exit_code != 0 and "not an IAM principal ARN" in bad.output
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"principals": [_entry(arn="bob")]}))
    imported = runner.invoke(app, ["principals", "import", str(path), *state])
    assert imported.exit_code != 0 and "principals[0]" in imported.output


def test_cli_import_then_signed_api_calls_use_the_principals_account(tmp_path: Path, make_server: Any) -> None:
    """DESIGN 2: an access key of the registry puts the caller in its principal's account."""
    server = make_server()
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"principals": [_entry(arn=SESSION)]}))
    runner = CliRunner()
    imported = runner.invoke(app, ["principals", "import", str(path), "--state-dir", str(server.state_dir)])
    assert imported.exit_code == 0, imported.output
    registered = server.client(access_key="AKIAALICE00000000001")
    created = registered.create_service_network(name="acct-from-registry")
    assert ":444455556666:" in created["arn"]
    anonymous = server.client()
    other = anonymous.create_service_network(name="acct-default")
    assert ":000000000000:" in other["arn"]
    # Every API front asks the same registry: ECS and Lambda too.
    cluster = server.client("ecs", access_key="AKIAALICE00000000001").create_cluster(clusterName="acct")["cluster"]
    assert ":444455556666:" in cluster["clusterArn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("app.py", "def handler(event, context):\n    return event\n")
    function = server.client("lambda", access_key="AKIAALICE00000000001").create_function(
        FunctionName="acct",
        Runtime="python3.11",
        Role="arn:aws:iam::444455556666:role/fn",
        Handler="app.handler",
        Code={"ZipFile": archive.getvalue()},
    )
    assert ":444455556666:" in function["FunctionArn"]
