"""`latticework certs` through typer's CliRunner: issue (ARN or --json), list, ca, on STATE_DIR/pki."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from latticework.cli.certs import app
from latticework.pki.ca import LocalCA

ARN = re.compile(r"arn:aws:acm:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):certificate/[0-9a-f-]{36}")

# Mounted the way cli/main.py mounts it.
root = typer.Typer()
root.add_typer(app, name="certs")
runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(root, ["certs", *args], env={"LATTICEWORK_ACCOUNT": None, "LATTICEWORK_REGION": None})
    assert result.exit_code == 0, result.output
    return result.output


def test_issue_prints_the_arn_of_a_certificate_in_state_dir_pki(tmp_path: Path) -> None:
    out = run("issue", "api.example.com", "*.api.example.com", "--state-dir", str(tmp_path))
    match = ARN.fullmatch(out.strip())
    assert match and match["account"] == "000000000000" and match["region"] == "us-west-2"
    cert = LocalCA(tmp_path / "pki").get(out.strip())
    assert cert is not None and cert.domains == ("api.example.com", "*.api.example.com")


def test_issue_takes_account_and_region(tmp_path: Path) -> None:
    out = run(
        "issue", "api.example.com", "--state-dir", str(tmp_path), "--account", "123456789012", "--region", "eu-west-1"
    )
    match = ARN.fullmatch(out.strip())
    assert match and (match["account"], match["region"]) == ("123456789012", "eu-west-1")


def test_issue_reads_account_and_region_from_the_environment(tmp_path: Path) -> None:
    result = runner.invoke(
        root,
        ["certs", "issue", "api.example.com", "--state-dir", str(tmp_path)],
        env={"LATTICEWORK_ACCOUNT": "111122223333", "LATTICEWORK_REGION": "ap-south-1"},
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("arn:aws:acm:ap-south-1:111122223333:certificate/")


def test_issue_json_gives_every_detail(tmp_path: Path) -> None:
    doc = json.loads(run("issue", "API.example.com", "--json", "--state-dir", str(tmp_path)))
    assert ARN.fullmatch(doc["certificateArn"])
    assert doc["domainName"] == "api.example.com"
    assert doc["subjectAlternativeNames"] == ["api.example.com"]
    assert doc["managed"] is False
    assert Path(doc["certificatePath"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert Path(doc["privateKeyPath"]).read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert Path(doc["chainPath"]) == tmp_path / "pki" / "ca.pem"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["a.*.example.com"], "left-most label"),
        (["localhost"], "not a fully qualified"),
        (["api.example.com", "--account", "42"], "12 digits"),
    ],
)
def test_issue_refuses_what_acm_refuses(tmp_path: Path, args: list[str], message: str) -> None:
    result = runner.invoke(root, ["certs", "issue", *args, "--state-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())  # rich wraps the error box
    assert LocalCA(tmp_path / "pki").list() == []


def test_issue_needs_a_domain(tmp_path: Path) -> None:
    assert runner.invoke(root, ["certs", "issue", "--state-dir", str(tmp_path)]).exit_code == 2


def test_list_shows_issued_and_managed_certificates(tmp_path: Path) -> None:
    ca = LocalCA(tmp_path / "pki")
    issued = ca.issue(["api.example.com", "www.example.com"], "000000000000", "us-west-2")
    managed = ca.certificate_for_service_name("orders-0a1.7d67968.vpc-lattice-svcs.us-west-2.on.aws")
    lines = run("list", "--state-dir", str(tmp_path)).splitlines()
    assert lines == [
        f"{issued.arn}\t{issued.not_after.date()}\tissued\tapi.example.com,www.example.com",
        f"{managed.arn}\t{managed.not_after.date()}\tmanaged\t*.7d67968.vpc-lattice-svcs.us-west-2.on.aws",
    ]
    docs = json.loads(run("list", "--json", "--state-dir", str(tmp_path)))
    assert [(doc["certificateArn"], doc["managed"]) for doc in docs] == [(issued.arn, False), (managed.arn, True)]


def test_list_of_an_empty_state_dir_is_empty(tmp_path: Path) -> None:
    assert run("list", "--state-dir", str(tmp_path)) == ""
    assert json.loads(run("list", "--json", "--state-dir", str(tmp_path))) == []


def test_ca_prints_the_bundle_path_and_creates_the_ca(tmp_path: Path) -> None:
    out = run("ca", "--state-dir", str(tmp_path))
    assert out == f"{(tmp_path / 'pki' / 'ca.pem').resolve()}\n"
    assert Path(out.strip()).read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_default_state_dir_is_dot_latticework(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("ca") == f"{tmp_path.resolve() / '.latticework' / 'pki' / 'ca.pem'}\n"
