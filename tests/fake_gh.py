"""A stub `gh` for tests/gha.py: answers from, and records into, the fake GitHub's state.json.

It knows the calls the templates in examples/github-actions/ make and nothing else (anything else
exits 2, so a template that starts using another call fails its test): `gh run list`, `gh run
download`, `gh api .../actions/artifacts`, `gh pr list/create/edit/comment`. `--jq` is applied with
the `jq` binary, printing raw strings as gh does. State: $FAKE_GH_STATE (JSON), artifacts under
$FAKE_GH_STORAGE/artifacts/<id>/, the repository's remote at $FAKE_GH_REMOTE (a bare git repository).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path


def _opts(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    pos: list[str] = []
    opts: dict[str, str] = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--"):
            key, eq, val = a[2:].partition("=")
            if not eq:
                i += 1
                val = argv[i]
            opts[key] = val
        else:
            pos.append(a)
        i += 1
    return pos, opts


def _emit(data: object, opts: dict[str, str]) -> None:
    if "json" in opts and isinstance(data, list):
        fields = opts["json"].split(",")
        data = [{k: row.get(k) for k in fields} for row in data]
    text = json.dumps(data)
    if "jq" in opts:
        out = subprocess.run(["jq", "-r", opts["jq"]], input=text, capture_output=True, text=True, check=False)
        if out.returncode:
            sys.stderr.write(out.stderr)
            sys.exit(1)
        sys.stdout.write(out.stdout)
    else:
        sys.stdout.write(text + "\n")


def _branch_exists(branch: str) -> bool:
    remote = os.environ["FAKE_GH_REMOTE"]
    out = subprocess.run(["git", "-C", remote, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
                         capture_output=True, check=False)
    return out.returncode == 0


def main(argv: list[str]) -> int:
    state_path = Path(os.environ["FAKE_GH_STATE"])
    storage = Path(os.environ["FAKE_GH_STORAGE"])
    with open(state_path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(state_path.read_text())
        state["calls"].append(argv)
        try:
            return _dispatch(argv, state, storage)
        finally:
            state_path.write_text(json.dumps(state, indent=1))


def _dispatch(argv: list[str], state: dict, storage: Path) -> int:
    pos, opts = _opts(argv)
    if opts.get("repo", state["repo"]) != state["repo"]:
        sys.stderr.write(f"gh: unknown repository {opts['repo']}\n")
        return 1
    cmd = pos[:2]
    if cmd == ["run", "list"]:
        wf = opts.get("workflow")
        runs = [r for r in state["runs"] if wf is None or r["workflow"] == wf]
        runs.sort(key=lambda r: r["databaseId"], reverse=True)
        _emit(runs[: int(opts.get("limit", 20))], opts)
        return 0
    if cmd == ["run", "download"]:
        run_id = int(pos[2])
        hits = [a for a in state["artifacts"] if a["workflow_run"]["id"] == run_id and a["name"] == opts["name"]
                and not a["expired"]]
        if not hits:
            sys.stderr.write(f"no valid artifacts found to download in run {run_id}\n")
            return 1
        dest = Path(opts.get("dir", "."))
        shutil.copytree(storage / "artifacts" / str(hits[-1]["id"]), dest, dirs_exist_ok=True)
        return 0
    if pos[:1] == ["api"]:
        if state.get("api_fails"):
            sys.stderr.write("HTTP 403: Resource not accessible by integration\n")
            return 1
        path, _, query = pos[1].partition("?")
        if path != f"repos/{state['repo']}/actions/artifacts":
            sys.stderr.write(f"fake gh: no such API {path}\n")
            return 2
        name = dict(p.partition("=")[::2] for p in query.split("&") if p).get("name")
        arts = [a for a in state["artifacts"] if name is None or a["name"] == name]
        arts.sort(key=lambda a: a["created_at"], reverse=True)  # the API lists the newest first
        _emit({"total_count": len(arts), "artifacts": arts}, opts)
        return 0
    if cmd == ["pr", "list"]:
        prs = [p for p in state["prs"] if p["head"] == opts.get("head", p["head"])
               and p["state"] == opts.get("state", "open")]
        _emit(prs, opts)
        return 0
    if cmd == ["pr", "create"]:
        head, base = opts["head"], opts["base"]
        if any(p["head"] == head and p["state"] == "open" for p in state["prs"]):
            sys.stderr.write(f'a pull request for branch "{head}" into branch "{base}" already exists\n')
            return 1
        if not _branch_exists(head):
            sys.stderr.write(f"pull request create failed: head branch {head} does not exist\n")
            return 1
        number = 1 + max([p["number"] for p in state["prs"]], default=0)
        state["prs"].append({"number": number, "head": head, "base": base, "title": opts["title"],
                             "body": Path(opts["body-file"]).read_text(), "state": "open"})
        print(f"https://github.com/{state['repo']}/pull/{number}")
        return 0
    if cmd == ["pr", "edit"]:
        pr = next(p for p in state["prs"] if p["number"] == int(pos[2]))
        pr["title"] = opts.get("title", pr["title"])
        if "body-file" in opts:
            pr["body"] = Path(opts["body-file"]).read_text()
        pr["edits"] = pr.get("edits", 0) + 1
        return 0
    if cmd == ["pr", "comment"]:
        state["comments"].append({"pr": int(pos[2]), "body": opts["body"]})
        return 0
    sys.stderr.write(f"fake gh: not emulated: {argv}\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
