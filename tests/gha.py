"""Run a GitHub Actions workflow's jobs on this machine, the way the runner would, with no network.

`FakeGitHub` is the repository's side of GitHub: a local bare remote, the runs, the Actions cache and
the artifacts (copies under `storage/`), the pull requests and comments (recorded in `state.json`,
answered by the stub `gh` in tests/fake_gh.py, which is first on PATH). `FakeGitHub.run()` executes
each job whose `if:` holds for the event: every `run:` step in order under `bash -eo pipefail` (as
the runner does), with `${{ }}` expressions evaluated from a context dict, `GITHUB_ENV` /
`GITHUB_OUTPUT` / `GITHUB_STEP_SUMMARY` honoured, and the `uses:` steps emulated: checkout = a clone
of the bare remote, setup-python = nothing (curator is installed in this venv; a stub `pip` records
what the install step asks for), cache restore/save and upload-artifact = copies into `storage/`.
An action the harness does not know fails the run, so a template cannot drift past its test.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

REPO_NAME = "editor/weekly"
BOT_NAME = "github-actions[bot]"


# ---- expressions -----------------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\)|,)"
                    r"|(?P<name>[A-Za-z_][\w.-]*))")


def _tokens(expr: str) -> list[tuple[str, str]]:
    out, pos, expr = [], 0, expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise ValueError(f"expression not understood at {expr[pos:]!r}: {expr!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Eval:
    """`a.b.c`, 'strings', numbers, == != && || ! ( ), and the functions the templates call."""

    def __init__(self, expr: str, ctx: dict[str, Any], funcs: dict[str, Callable[..., Any]]) -> None:
        self.toks, self.i, self.ctx, self.funcs, self.expr = _tokens(expr), 0, ctx, funcs, expr

    def run(self) -> Any:
        value = self._or()
        if self.i != len(self.toks):
            raise ValueError(f"trailing tokens in {self.expr!r}")
        return value

    def _peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _take(self, value: str) -> bool:
        tok = self._peek()
        if tok and tok[0] == "op" and tok[1] == value:
            self.i += 1
            return True
        return False

    def _or(self) -> Any:
        left = self._and()
        while self._take("||"):
            right = self._and()
            left = left or right
        return left

    def _and(self) -> Any:
        left = self._not()
        while self._take("&&"):
            right = self._not()
            left = left and right
        return left

    def _not(self) -> Any:
        if self._take("!"):
            return not self._not()
        return self._cmp()

    def _cmp(self) -> Any:
        left = self._primary()
        for op in ("==", "!="):
            if self._take(op):
                right = self._primary()
                same = _loose(left) == _loose(right)
                return same if op == "==" else not same
        return left

    def _primary(self) -> Any:
        tok = self._peek()
        if tok is None:
            raise ValueError(f"unexpected end of {self.expr!r}")
        self.i += 1
        kind, text = tok
        if kind == "op" and text == "(":
            value = self._or()
            assert self._take(")"), self.expr
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if kind == "name":
            if self._take("("):
                args = []
                if not self._take(")"):
                    args.append(self._or())
                    while self._take(","):
                        args.append(self._or())
                    assert self._take(")"), self.expr
                return self.funcs[text](*args)
            value: Any = self.ctx
            for part in text.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            return value
        raise ValueError(f"unexpected {text!r} in {self.expr!r}")


def _loose(v: Any) -> Any:
    return "" if v is None else (str(v) if not isinstance(v, bool) else v)


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


# ---- the fake GitHub ------------------------------------------------------------------------------
@dataclass
class StepResult:
    name: str
    outcome: str  # success | failure | skipped
    rc: int = 0
    output: str = ""


@dataclass
class JobResult:
    name: str
    steps: list[StepResult] = field(default_factory=list)
    env_file: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    workspace: Path | None = None

    @property
    def ok(self) -> bool:
        return all(s.outcome != "failure" for s in self.steps)

    def step(self, prefix: str) -> StepResult:
        hits = [s for s in self.steps if s.name.startswith(prefix)]
        assert len(hits) == 1, f"{prefix!r} matches {[s.name for s in self.steps]}"
        return hits[0]

    def log(self) -> str:
        return "\n".join(f"--- {s.name} [{s.outcome} rc={s.rc}]\n{s.output}" for s in self.steps)


@dataclass
class RunResult:
    run_id: int
    jobs: dict[str, JobResult]

    @property
    def ok(self) -> bool:
        return all(j.ok for j in self.jobs.values())

    def log(self) -> str:
        return "\n".join(f"=== job {n}\n{j.log()}" for n, j in self.jobs.items())


class FakeGitHub:
    def __init__(self, root: Path, workflows: Path, base_env: dict[str, str]) -> None:
        self.root = root
        self.workflows = workflows
        self.storage = root / "storage"
        self.remote = root / "remote.git"
        self.bin = root / "bin"
        self.home = root / "home"
        for d in (self.storage / "artifacts", self.storage / "caches", self.bin, self.home):
            d.mkdir(parents=True, exist_ok=True)
        self.state_path = self.storage / "state.json"
        self.state_path.write_text(json.dumps({
            "repo": REPO_NAME, "runs": [], "artifacts": [], "caches": [], "prs": [], "comments": [],
            "calls": [], "pip": [], "next_id": 4100,
        }))
        self._stubs()
        self.base_env = base_env
        git(self.root, "init", "-q", "--bare", "-b", "main", str(self.remote))
        # As a protected branch would: a forced (non-fast-forward) push or a branch deletion is refused,
        # so a template that force-pushes fails its run here.
        git(self.remote, "config", "receive.denyNonFastForwards", "true")
        git(self.remote, "config", "receive.denyDeletes", "true")

    # -- state
    def state(self) -> dict[str, Any]:
        return json.loads(self.state_path.read_text())

    def update(self, fn: Callable[[dict[str, Any]], None]) -> None:
        state = self.state()
        fn(state)
        self.state_path.write_text(json.dumps(state, indent=1))

    def _next_id(self) -> int:
        state = self.state()
        n = state["next_id"] + 1
        state["next_id"] = n
        self.state_path.write_text(json.dumps(state, indent=1))
        return n

    def env(self) -> dict[str, str]:
        return {
            "FAKE_GH_STATE": str(self.state_path), "FAKE_GH_STORAGE": str(self.storage),
            "FAKE_GH_REMOTE": str(self.remote),
        }

    def _stubs(self) -> None:
        fake_gh = Path(__file__).with_name("fake_gh.py")
        (self.bin / "gh").write_text(f'#!/bin/sh\nexec "{sys.executable}" "{fake_gh}" "$@"\n')
        # pip: record what the install step asks for (curator is already installed in this venv).
        (self.bin / "pip").write_text(
            f'#!/bin/sh\nexec "{sys.executable}" -c \'import json, os, sys; p = os.environ["FAKE_GH_STATE"]; '
            's = json.load(open(p)); s["pip"].append(sys.argv[1:]); json.dump(s, open(p, "w"))\' "$@"\n')
        for stub in ("gh", "pip"):
            (self.bin / stub).chmod(0o755)

    # -- the workflow run
    def run(self, workflow: str, event: str, *, vars: dict[str, str] | None = None,
            secrets: dict[str, str] | None = None, event_payload: dict[str, Any] | None = None,
            job_env: dict[str, str] | None = None,
            before_step: Callable[[str, Path], None] | None = None, until: str | None = None) -> RunResult:
        """`until`: stop the job after the step whose name starts with it (the rest is not run at all)."""
        doc = yaml.safe_load((self.workflows / workflow).read_text(encoding="utf-8"))
        run_id = self._next_id()
        # Real time, on purpose: the workflows stamp their backups with `date -u`, and the fake's run and
        # artifact times must order with those stamps (only the order is compared, never a date).
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        run = {"databaseId": run_id, "workflow": workflow, "status": "in_progress", "conclusion": "",
               "startedAt": now, "event": event}
        self.update(lambda s: s["runs"].append(run))
        payload = {"repository": {"default_branch": "main", "full_name": REPO_NAME}, **(event_payload or {})}
        github = {"run_id": str(run_id), "run_attempt": "1", "event_name": event, "repository": REPO_NAME,
                  "token": "fake-token", "event": payload, "ref_name": "main"}
        jobs: dict[str, JobResult] = {}
        for name, job in doc["jobs"].items():
            ctx = {"github": github, "vars": vars or {}, "secrets": secrets or {}}
            cond = job.get("if")
            if cond is not None and not _Eval(_strip(cond), ctx, {}).run():
                continue
            jobs[name] = self._job(name, job, ctx, doc.get("env") or {}, job_env or {}, before_step, run_id, until)
        ok = all(j.ok for j in jobs.values())
        self.update(lambda s: next(r for r in s["runs"] if r["databaseId"] == run_id).update(
            status="completed", conclusion="success" if ok else "failure"))
        return RunResult(run_id, jobs)

    def _job(self, name: str, job: dict[str, Any], ctx: dict[str, Any], wf_env: dict[str, Any],
             job_env_over: dict[str, str], before_step: Callable[[str, Path], None] | None,
             run_id: int, until: str | None = None) -> JobResult:
        base = self.root / "runs" / f"{run_id}-{name}"
        ws, temp = base / "ws", base / "temp"
        for d in (ws, temp):
            d.mkdir(parents=True)
        files = {k: base / k.lower() for k in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
        for f in files.values():
            f.touch()
        ctx = {**ctx, "runner": {"temp": str(temp), "os": "Linux"}, "steps": {}, "env": {}}
        result = JobResult(name, workspace=ws)
        failed = False

        def hash_files(*patterns: str) -> str:
            hits = sorted(p for pat in patterns for p in glob.glob(str(ws / pat)) if Path(p).is_file())
            if not hits:
                return ""
            h = hashlib.sha256()
            for p in hits:
                h.update(Path(p).read_bytes())
            return h.hexdigest()

        funcs = {"always": lambda: True, "success": lambda: not failed, "failure": lambda: failed,
                 "hashFiles": hash_files}

        def interp(value: Any) -> str:
            return re.sub(r"\$\{\{(.*?)\}\}", lambda m: _text(_Eval(m.group(1), ctx, funcs).run()), str(value))

        env_acc: dict[str, str] = {}
        for k, v in {**wf_env, **(job.get("env") or {})}.items():
            env_acc[k] = interp(v)
        env_acc.update(job_env_over)
        ctx["env"] = env_acc
        for idx, step in enumerate(job["steps"]):
            sname = step.get("name") or step.get("uses") or f"step {idx}"
            cond = step.get("if")
            run_it = _Eval(_strip(cond), ctx, funcs).run() if cond is not None else not failed
            if not run_it:
                result.steps.append(StepResult(sname, "skipped"))
                continue
            if before_step:
                before_step(sname, ws)
            step_env = {k: interp(v) for k, v in (step.get("env") or {}).items()}
            files["GITHUB_OUTPUT"].write_text("")
            if "run" in step:
                rc, out = self._shell(interp(step["run"]), ws, temp, {**env_acc, **step_env}, files, ctx)
            else:
                rc, out = self._uses(step["uses"], {k: interp(v) for k, v in (step.get("with") or {}).items()},
                                     ws, files, ctx, run_id)
            outputs = _read_kv(files["GITHUB_OUTPUT"])
            if step.get("id"):
                ctx["steps"][step["id"]] = {"outputs": outputs, "outcome": "success" if rc == 0 else "failure"}
            env_acc.update(_read_kv(files["GITHUB_ENV"]))
            result.steps.append(StepResult(sname, "success" if rc == 0 else "failure", rc, out))
            failed = failed or rc != 0
            if until and sname.startswith(until):
                break
        result.env_file = _read_kv(files["GITHUB_ENV"])
        result.summary = files["GITHUB_STEP_SUMMARY"].read_text()
        return result

    def _shell(self, script: str, ws: Path, temp: Path, env: dict[str, str], files: dict[str, Path],
               ctx: dict[str, Any]) -> tuple[int, str]:
        path = temp / "step.sh"
        path.write_text(script)
        full = {
            **self.base_env,
            "PATH": f"{self.bin}:{Path(sys.executable).parent}:/usr/bin:/bin",
            "HOME": str(self.home), "GIT_CONFIG_NOSYSTEM": "1", "LANG": "C.UTF-8",
            "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(ws), "RUNNER_TEMP": str(temp),
            "GITHUB_REPOSITORY": REPO_NAME, "GITHUB_RUN_ID": ctx["github"]["run_id"],
            "GITHUB_RUN_ATTEMPT": ctx["github"]["run_attempt"], "GITHUB_EVENT_NAME": ctx["github"]["event_name"],
            "GITHUB_SHA": ctx["github"].get("sha", ""), "GITHUB_REF_NAME": "main",
            **{k: str(v) for k, v in files.items()},
            **self.env(), **env,
        }
        if not full["GITHUB_SHA"]:
            full["GITHUB_SHA"] = git(ws, "rev-parse", "HEAD").strip() if (ws / ".git").exists() else ""
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)], cwd=ws, env=full,
                              capture_output=True, text=True, timeout=600, check=False)
        return proc.returncode, proc.stdout + proc.stderr

    def _uses(self, uses: str, with_: dict[str, str], ws: Path, files: dict[str, Path], ctx: dict[str, Any],
              run_id: int) -> tuple[int, str]:
        action = uses.split("@")[0]
        if action == "actions/checkout":
            git(ws.parent, "clone", "-q", str(self.remote), str(ws))
            return 0, f"cloned {self.remote}"
        if action == "actions/setup-python":
            return 0, "python: this venv"
        caches = self.storage / "caches"
        if action == "actions/cache/restore":
            key = with_["key"]
            prefixes = [p.strip() for p in with_.get("restore-keys", "").splitlines() if p.strip()]
            entries = self.state()["caches"]  # oldest first: the newest match wins
            hit = next((e for e in reversed(entries) if e["key"] == key), None)
            for prefix in prefixes:
                hit = hit or next((e for e in reversed(entries) if e["key"].startswith(prefix)), None)
            out = {"cache-primary-key": key, "cache-hit": "false", "cache-matched-key": ""}
            if hit:
                shutil.copytree(caches / hit["key"], ws / with_["path"], dirs_exist_ok=True)
                out.update({"cache-hit": str(hit["key"] == key).lower(), "cache-matched-key": hit["key"]})
            files["GITHUB_OUTPUT"].write_text("".join(f"{k}={v}\n" for k, v in out.items()))
            return 0, f"cache: {hit['key'] if hit else 'miss'}"
        if action == "actions/cache/save":
            key = with_["key"]
            if any(e["key"] == key for e in self.state()["caches"]):
                return 0, f"cache entry {key} exists (entries are immutable): not saved"
            shutil.copytree(ws / with_["path"], caches / key)
            self.update(lambda s: s["caches"].append({"key": key}))
            return 0, f"cache saved: {key}"
        if action == "actions/upload-artifact":
            name = with_["name"]
            state = self.state()
            same = [a for a in state["artifacts"] if a["name"] == name and a["workflow_run"]["id"] == run_id]
            if same and with_.get("overwrite") != "true":
                return 1, f"an artifact named {name} exists in this run"
            art_id = self._next_id()
            shutil.copytree(ws / with_["path"], self.storage / "artifacts" / str(art_id))
            created = datetime.now(UTC).isoformat().replace("+00:00", "Z")

            def add(s: dict[str, Any]) -> None:
                s["artifacts"] = [a for a in s["artifacts"] if a not in same]
                s["artifacts"].append({"id": art_id, "name": name, "expired": False, "created_at": created,
                                       "workflow_run": {"id": run_id}})
            self.update(add)
            return 0, f"artifact {name} uploaded ({art_id})"
        return 1, f"the harness does not emulate {uses}"

    # -- helpers for the tests
    def runs_with(self, workflow: str) -> list[dict[str, Any]]:
        return [r for r in self.state()["runs"] if r["workflow"] == workflow]

    def open_prs(self) -> list[dict[str, Any]]:
        return [p for p in self.state()["prs"] if p["state"] == "open"]


def _strip(expr: Any) -> str:
    s = str(expr).strip()
    return s[3:-2] if s.startswith("${{") and s.endswith("}}") else s


def _read_kv(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Editor", "GIT_AUTHOR_EMAIL": "editor@example.org",
            "GIT_COMMITTER_NAME": "Editor", "GIT_COMMITTER_EMAIL": "editor@example.org", **(env or {})}
    proc = subprocess.run(["git", *args], cwd=cwd, env=full, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc.stdout
