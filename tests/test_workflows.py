"""The GitHub Actions examples: actionlint-clean, scheduled, and every `curator …` they run is a real command.

tests/test_workflows_run.py executes them; this file checks what they say.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
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


def jobs(name: str) -> dict:
    return load(name)["jobs"]


def actionlint() -> str | None:
    beside = Path(sys.executable).with_name("actionlint")  # the dev extras install it into the venv
    return str(beside) if beside.exists() else shutil.which("actionlint")


def run_actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    exe = actionlint()
    why = None
    if exe is None:
        why = "no actionlint binary: `make .venv/.installed-dev` installs it (the dev extras)"
    else:
        try:
            return subprocess.run([exe, "-no-color", *map(str, files)], capture_output=True, text=True,
                                  timeout=120, check=False)
        except OSError as exc:  # e.g. no build of the binary for this platform
            why = f"the actionlint binary cannot run here: {exc}"
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


def test_actionlint_is_clean_on_both_templates():
    proc = run_actionlint(*(WORKFLOWS / f for f in FILES))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_does_find_a_mistake(tmp_path):
    """The check above is not vacuous: a broken copy (an unknown step output) fails it."""
    bad = tmp_path / "bad.yml"
    bad.write_text((WORKFLOWS / "weekly-draft.yml").read_text(encoding="utf-8").replace(
        "steps.draft.outputs.number", "steps.nosuchstep.outputs.number"), encoding="utf-8")
    proc = run_actionlint(bad)
    assert proc.returncode != 0 and "nosuchstep" in proc.stdout


@pytest.mark.parametrize("name", FILES)
def test_no_concurrency_group_and_no_pull_request_action(name):
    """A concurrency group cancels an older *pending* run; the jobs wait for earlier runs instead."""
    doc = load(name)
    assert "concurrency" not in doc and not any("concurrency" in job for job in doc["jobs"].values())
    text = (WORKFLOWS / name).read_text(encoding="utf-8")
    assert "peter-evans/" not in text
    assert not re.search(r"git push[^\n]*(--force|-f\b|\+)", text)  # never a forced push
    for job in doc["jobs"].values():
        assert any(s.get("name", "").startswith("Wait for the curator runs that started earlier") for s in job["steps"])


@pytest.mark.parametrize("name", FILES)
def test_every_job_backs_up_the_store_it_writes_and_derives_its_deadline(name):
    for job_name, job in jobs(name).items():
        uses = [s.get("uses", "").split("@")[0] for s in job["steps"]]
        assert "actions/cache/save" in uses and "actions/upload-artifact" in uses, job_name
        up = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
        assert up["with"]["name"] == "curator-store" and up["if"].startswith("always()")
        assert int(job["env"]["JOB_TIMEOUT_MINUTES"]) == job["timeout-minutes"], job_name
        install = next(s for s in job["steps"] if s.get("name", "").startswith("Install curator"))
        assert 'pip install "curator-weekly==$CURATOR_VERSION"' in install["run"]
        assert install["env"] == {"CURATOR_VERSION": "${{ vars.CURATOR_VERSION }}", "CURATOR_GIT": "${{ vars.CURATOR_GIT }}"}


def test_the_shared_steps_are_the_same_in_both_files():
    def named(job: dict) -> dict[str, dict]:
        return {s["name"]: s for s in job["steps"] if "name" in s}

    nightly = named(jobs("nightly-collect.yml")["collect"])
    for job in jobs("weekly-draft.yml").values():
        for step_name, step in named(job).items():
            if step_name in nightly:
                assert step == nightly[step_name], step_name


def test_the_settings_the_templates_set_exist(workspace):
    from curator.settings import load_settings

    text = "".join((WORKFLOWS / f).read_text(encoding="utf-8") for f in FILES)
    names = set(re.findall(r"\b(CURATOR_[A-Z]+__[A-Z_]+)\b", text))
    assert {"CURATOR_RUN__DEADLINE_S", "CURATOR_LLM__PRESET", "CURATOR_LLM__BASE_URL",
            "CURATOR_LLM__BUDGET_RUN_USD"} <= names
    env = {n: v for n, v in {"CURATOR_RUN__DEADLINE_S": "3000", "CURATOR_LLM__PRESET": "deepseek",
                             "CURATOR_LLM__BASE_URL": "http://127.0.0.1:9/v1", "CURATOR_LLM__MODEL": "m",
                             "CURATOR_LLM__BUDGET_RUN_USD": "0.5", "CURATOR_LLM__BUDGET_ISSUE_USD": "2"}.items()}
    assert set(env) == names
    s = load_settings(workspace, env=env)
    assert (s.run.deadline_s, s.llm.preset, s.llm.base_url, s.llm.budget_run_usd, s.llm.budget_issue_usd) == (
        3000, "deepseek", "http://127.0.0.1:9/v1", 0.5, 2)
