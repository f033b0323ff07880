"""The GitHub Actions examples: valid YAML, scheduled, and every `curator …` they run is a real command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main
import yaml

from curator.cli import app

WORKFLOWS = Path(__file__).resolve().parents[1] / "examples" / "github-actions"
FILES = ["nightly-collect.yml", "weekly-draft.yml"]
# `curator` in command position (a line's start, after ; && || | $( or a shell keyword; not inside an `echo`
# text or the `curator/draft` branch name), its global flags, then the command.
CURATOR_CALL = re.compile(
    r"(?:^|[;&|(]|\b(?:then|do|else|if|!))[ \t]*curator((?:[ \t]+-{1,2}[\w-]+)*)[ \t]+([a-z][\w-]*)", re.MULTILINE)


def load(name: str) -> dict:
    doc = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(doc, dict), name
    return doc


def triggers(doc: dict) -> dict:
    # YAML 1.1 reads a bare `on:` key as the boolean True.
    return doc.get("on", doc.get(True)) or {}


def run_scripts(doc: dict) -> list[str]:
    return [step["run"] for job in doc["jobs"].values() for step in job.get("steps", []) if "run" in step]


def curator_commands(doc: dict) -> set[str]:
    return {m[2] for script in run_scripts(doc) for m in CURATOR_CALL.finditer(script)}


@pytest.mark.parametrize("name", FILES)
def test_valid_yaml_with_a_cron_schedule(name):
    doc = load(name)
    crons = [entry["cron"] for entry in triggers(doc)["schedule"]]
    assert crons and all(len(c.split()) == 5 for c in crons)
    assert doc["jobs"], name


def test_the_commands_used_are_the_expected_ones():
    assert curator_commands(load("nightly-collect.yml")) == {"collect"}
    assert curator_commands(load("weekly-draft.yml")) == {"collect", "draft", "lint", "publish"}


@pytest.mark.parametrize("name", FILES)
def test_every_curator_command_exists_in_the_cli(name):
    known = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    used = curator_commands(load(name))
    assert used, f"{name} runs no curator command"
    missing = sorted(used - known)
    assert not missing, f"{name} runs curator {missing}, which the CLI does not have (it has {sorted(known)})"


@pytest.mark.parametrize("name", FILES)
def test_the_store_is_restored_saved_and_the_key_reaches_collect(name):
    doc = load(name)
    uses = [step.get("uses", "") for job in doc["jobs"].values() for step in job["steps"]]
    assert any(u.startswith("actions/cache/restore@") for u in uses)
    assert any(u.startswith("actions/cache/save@") for u in uses)
    assert any(u.startswith("actions/setup-python@") for u in uses)
    collect_steps = [step for job in doc["jobs"].values() for step in job["steps"]
                     if "collect" in {m[2] for m in CURATOR_CALL.finditer(step.get("run", ""))}]
    assert collect_steps and all(s["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}" for s in collect_steps)
    py = [s["with"]["python-version"] for job in doc["jobs"].values() for s in job["steps"]
          if s.get("uses", "").startswith("actions/setup-python@")]
    assert set(py) == {"3.11"}


def test_weekly_opens_one_pull_request_on_a_fixed_branch():
    doc = load("weekly-draft.yml")
    prs = [s for job in doc["jobs"].values() for s in job["steps"]
           if s.get("uses", "").startswith("peter-evans/create-pull-request@v7")]
    assert len(prs) == 1
    assert prs[0]["with"]["branch"] == "curator/draft"
    assert "body-path" in prs[0]["with"]
    assert doc["permissions"]["pull-requests"] == "write" and doc["permissions"]["contents"] == "write"
