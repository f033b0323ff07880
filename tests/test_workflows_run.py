"""The GitHub Actions templates, executed: every `run:` step in order, in the editor's workspace repository.

tests/gha.py plays the runner and GitHub (a local bare remote, the Actions cache and artifacts as
copies, a stub `gh` recording pull requests and comments); `curator collect` reads a loopback news
site with the offline provider, on a pinned clock. Nothing here reaches the internet.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gha import BOT_NAME, FakeGitHub, git
from tests.sites import NewsSite

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "examples" / "github-actions"
CURATOR = str(Path(sys.executable).with_name("curator"))
# The site's articles are dated 10–18 Nov 2026; the week ending here holds most of them.
NOW = "2026-11-19T12:00:00+00:00"
VARS = {"CURATOR_VERSION": "0.1.0", "CURATOR_LLM__BUDGET_RUN_USD": "0.5"}



@pytest.fixture(autouse=True)
def _jq():
    if shutil.which("jq") is None:  # in the machine image; on CI its absence is a failure, not a skip
        (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)("the stub gh applies --jq with the jq binary")


@pytest.fixture
def site():
    with NewsSite(n_articles=9) as s:
        yield s


@pytest.fixture
def github(tmp_path, site):
    """The editor's workspace repository, as `curator init` makes it, pushed to the fake GitHub."""
    env = {"CURATOR_RUN__NOW": NOW, "CURATOR_RUN__MAX_AGE_DAYS": "0", "CURATOR_LLM__PROVIDER": "offline"}
    gh = FakeGitHub(tmp_path / "gh", WORKFLOWS, env)
    seed = tmp_path / "seed"
    subprocess.run([CURATOR, "init", "--home", str(seed)], check=True, capture_output=True)
    site.write_sources(seed)
    (seed / ".github" / "workflows").mkdir(parents=True)
    for wf in WORKFLOWS.glob("*.yml"):
        shutil.copyfile(wf, seed / ".github" / "workflows" / wf.name)
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "a curator workspace")
    git(seed, "push", "-q", str(gh.remote), "main")
    return gh


def editor_clone(gh: FakeGitHub, where: Path) -> Path:
    git(where.parent, "clone", "-q", str(gh.remote), str(where))
    return where


def branch_log(gh: FakeGitHub, branch: str) -> list[tuple[str, str, str]]:
    out = git(gh.remote, "log", "--format=%H%x09%an%x09%s", branch)
    return [tuple(line.split("\t")) for line in out.splitlines()]  # type: ignore[misc]


def test_workspace_gitignore_tracks_drafts_and_ignores_the_store(tmp_path):
    home = tmp_path / "ws"
    subprocess.run([CURATOR, "init", "--home", str(home)], check=True, capture_output=True)
    (home / "data" / "curator.db").write_text("x")
    (home / "drafts" / "issue-1.md").write_text("x")
    git(home, "init", "-q", "-b", "main")
    git(home, "add", "-A")
    tracked = git(home, "ls-files").split()
    assert "drafts/issue-1.md" in tracked and ".gitignore" in tracked
    assert not [p for p in tracked if p.startswith("data/")]
    (home / ".gitignore").write_text("# mine\n")
    subprocess.run([CURATOR, "init", "--home", str(home)], check=True, capture_output=True)
    assert (home / ".gitignore").read_text() == "# mine\n"  # an existing one is never overwritten


def test_install_from_a_git_ref_when_curator_git_is_set(github):
    run = github.run("nightly-collect.yml", "workflow_dispatch",
                     vars={**VARS, "CURATOR_GIT": "https://github.com/curator-weekly/curator@v0.1.0"},
                     until="Install curator")
    assert run.ok, run.log()
    assert github.state()["pip"] == [["install", "git+https://github.com/curator-weekly/curator@v0.1.0"]]


def test_no_version_set_is_a_loud_failure(github):
    run = github.run("nightly-collect.yml", "schedule", vars={})
    assert not run.ok
    assert "CURATOR_VERSION" in run.jobs["collect"].step("Install curator").output
    assert run.jobs["collect"].step("Collect").outcome == "skipped"
    assert not github.state()["artifacts"]  # nothing ran, nothing was backed up


def test_a_run_waits_for_earlier_runs_and_never_cancels_them(github):
    """No concurrency group: an earlier run still going holds this one at the door (loudly, in the end)."""
    github.update(lambda s: s["runs"].append({"databaseId": 17, "workflow": "weekly-draft.yml", "status": "in_progress",
                                              "conclusion": "", "startedAt": "2026-11-19T11:00:00Z", "event": "push"}))
    run = github.run("nightly-collect.yml", "schedule", vars=VARS, job_env={"WAIT_MAX_S": "0"})
    job = run.jobs["collect"]
    assert job.step("Wait for the curator runs").outcome == "failure"
    assert "17 still running" in job.step("Wait for the curator runs").output
    assert job.step("Collect").outcome == "skipped"
    assert next(r for r in github.state()["runs"] if r["databaseId"] == 17)["status"] == "in_progress"


def test_collect_exit_75_is_retried_and_then_reported(github):
    held = []

    def hold_the_lock(step: str, ws: Path) -> None:
        if step == "Collect":
            (ws / "data").mkdir(exist_ok=True)
            fd = os.open(ws / "data" / "curator.lock", os.O_RDWR | os.O_CREAT)
            fcntl.flock(fd, fcntl.LOCK_EX)
            held.append(fd)

    try:
        run = github.run("nightly-collect.yml", "schedule", vars=VARS,
                         job_env={"LOCK_RETRIES": "2", "LOCK_RETRY_S": "0"}, before_step=hold_the_lock)
    finally:
        for fd in held:
            os.close(fd)
    step = run.jobs["collect"].step("Collect")
    assert step.outcome == "failure" and step.rc == 75, step.output
    assert step.output.count("store lock is held") == 1  # one retry, then the exit code stands


def test_weekly_draft_pr_editor_commit_redraft_publish_and_the_backup_fallback(github, site, tmp_path):
    # 0. The first nightly: installs the pinned release, configures curator from vars, collects, backs up.
    run = github.run("nightly-collect.yml", "schedule", vars=VARS)
    job = run.jobs["collect"]
    assert run.ok, run.log()
    assert github.state()["pip"] == [["install", "curator-weekly==0.1.0"]]
    # repository variables reach curator's settings, unset ones stay unset (an empty preset is invalid)
    assert job.env_file["CURATOR_LLM__BUDGET_RUN_USD"] == "0.5" and "CURATOR_LLM__PRESET" not in job.env_file
    # curator's own deadline: the job's 60 minutes less the 300 s the later steps need (and what passed)
    line = next(ln for ln in job.summary.splitlines() if ln.startswith("### curator collect"))
    deadline = int(line.split("deadline ")[1].rstrip("s)"))
    assert 60 * 60 - 300 - 300 <= deadline <= 60 * 60 - 300, line
    collect = json.loads(job.summary.split("```json", 1)[1].split("```", 1)[0])
    assert collect["status"] == "ok" and collect["counters"]["enrich/ok"] == 9
    state = github.state()
    assert [a["workflow_run"]["id"] for a in state["artifacts"]] == [run.run_id]
    assert [c["key"] for c in state["caches"]] == [f"curator-store-{run.run_id}-1"]
    assert "starting a new store" in job.step("Restore the newest store backup").output

    # 1. The first weekly run: a branch with curator's commit, one pull request.
    first = github.run("weekly-draft.yml", "schedule", vars=VARS)
    assert list(first.jobs) == ["draft"] and first.ok, first.log()
    prs = github.open_prs()
    assert len(prs) == 1 and prs[0]["head"] == "curator/draft" and prs[0]["base"] == "main"
    assert prs[0]["title"] == "curator: draft of issue 1" and "curator lint" in prs[0]["body"]
    log = branch_log(github, "curator/draft")
    assert log[0][1] == BOT_NAME and log[0][2] == "curator: draft of issue 1"
    files = git(github.remote, "ls-tree", "-r", "--name-only", "curator/draft").split()
    assert "drafts/issue-1.md" in files and "drafts/issue-1.json" in files
    assert not [f for f in files if f.startswith("data/")]  # the store never goes into git

    # 2. The editor edits the draft in the pull request (a commit on the branch).
    ed = editor_clone(github, tmp_path / "editor")
    git(ed, "checkout", "-q", "curator/draft")
    draft = ed / "drafts" / "issue-1.md"
    edited = draft.read_text(encoding="utf-8").replace("\n", "\n\n编辑的话：本周重点看开源。\n", 1)
    draft.write_text(edited, encoding="utf-8")
    git(ed, "commit", "-q", "-am", "editor: a note at the top")
    editor_sha = git(ed, "rev-parse", "HEAD").strip()
    git(ed, "push", "-q", "origin", "curator/draft")
    assert git(github.remote, "rev-parse", "curator/draft").strip() == editor_sha
    assert len(github.open_prs()) == 1 and not github.state()["comments"]

    # 3. A redraft: on top of the editor's commit, the edited draft left alone, still one PR. The
    #    editor pushes once more while it runs: its push is rejected, it rebases once and pushes.
    pushed = []

    def editor_pushes(step: str, ws: Path) -> None:
        if step.startswith("Commit and push") and not pushed:
            (ed / "notes.md").write_text("选题备忘\n", encoding="utf-8")
            git(ed, "add", "notes.md")
            git(ed, "commit", "-q", "-m", "editor: notes while the redraft runs")
            git(ed, "push", "-q", "origin", "curator/draft")
            pushed.append(git(ed, "rev-parse", "HEAD").strip())

    second = github.run("weekly-draft.yml", "workflow_dispatch", vars=VARS, before_step=editor_pushes)
    assert second.ok, second.log()
    assert "rejected" in second.jobs["draft"].step("Commit and push").output
    git(github.remote, "merge-base", "--is-ancestor", pushed[0], "curator/draft")
    tip = git(github.remote, "rev-parse", "curator/draft").strip()
    git(github.remote, "merge-base", "--is-ancestor", editor_sha, tip)  # no force-push: still in history
    assert editor_sha in [c[0] for c in branch_log(github, "curator/draft")]
    assert git(github.remote, "show", "curator/draft:drafts/issue-1.md") == edited
    state = github.state()
    assert len(github.open_prs()) == 1 and len(state["prs"]) == 1
    assert state["prs"][0].get("edits") == 1
    assert [c["pr"] for c in state["comments"]] == [1]
    assert "drafts/issue-1.md was edited" in state["comments"][0]["body"]
    assert "not regenerate" in state["comments"][0]["body"]
    assert "Edited by the editor, not regenerated" in state["prs"][0]["body"]

    # 4. The editor merges: the publish job records the issue and backs the store up.
    git(ed, "pull", "-q", "origin", "curator/draft")
    git(ed, "checkout", "-q", "main")
    git(ed, "pull", "-q", "origin", "main")
    before = git(ed, "rev-parse", "HEAD").strip()
    git(ed, "fetch", "-q", "origin")
    git(ed, "merge", "-q", "--no-ff", "-m", "Merge the draft", "origin/curator/draft")
    after = git(ed, "rev-parse", "HEAD").strip()
    git(ed, "push", "-q", "origin", "main")
    publish = github.run("weekly-draft.yml", "push", vars=VARS, event_payload={"before": before, "after": after})
    assert list(publish.jobs) == ["publish"] and publish.ok, publish.log()
    assert "published #1" in publish.jobs["publish"].step("Record the merged issue").output
    arts = github.state()["artifacts"]
    assert arts[-1]["workflow_run"]["id"] == publish.run_id  # publish backs up the store too

    # 5. The cache is gone, and the newest run has no backup (it failed before writing anything):
    #    the fallback takes the newest run that HAS one, i.e. the publish run, not an empty store.
    github.update(lambda s: s.update(caches=[]))
    broken = github.run("nightly-collect.yml", "schedule", vars={})
    assert not broken.ok and github.state()["artifacts"][-1]["workflow_run"]["id"] == publish.run_id
    third = github.run("nightly-collect.yml", "schedule", vars=VARS, until="Restore the newest store backup")
    assert third.ok, third.log()
    restore = third.jobs["collect"].step("Restore the newest store backup").output
    assert f"artifact of run {publish.run_id}" in restore, restore
    assert (third.jobs["collect"].workspace / "data" / "curator.db").is_file()
    # 6. A stale cache (an older store than the newest backup) loses to the backup as well.
    github.update(lambda s: s.update(caches=[{"key": f"curator-store-{first.run_id}-1"}]))  # the first draft's
    fourth = github.run("nightly-collect.yml", "schedule", vars=VARS, until="Restore the newest store backup")
    assert fourth.jobs["collect"].step("Restore the store from the cache").output == f"cache: curator-store-{first.run_id}-1"
    restore = fourth.jobs["collect"].step("Restore the newest store backup").output
    assert f"artifact of run {publish.run_id}" in restore, restore
    # 7. A cache as new as the newest backup is used as it is.
    github.update(lambda s: s.update(caches=[{"key": f"curator-store-{publish.run_id}-1"}]))
    fifth = github.run("nightly-collect.yml", "schedule", vars=VARS, until="Restore the newest store backup")
    assert "is the newest backup" in fifth.jobs["collect"].step("Restore the newest store backup").output

    # 8. The next week: the merged pull request's branch is still there. The run brings it level with
    #    main (history kept, a plain push) and opens a new pull request for issue 2.
    github.update(lambda s: s["prs"][0].update(state="merged"))
    old_tip = git(github.remote, "rev-parse", "curator/draft").strip()
    site.n = 18  # new links this week
    nxt = github.run("weekly-draft.yml", "schedule", vars=VARS)
    assert nxt.ok, nxt.log()
    git(github.remote, "merge-base", "--is-ancestor", old_tip, "curator/draft")
    git(github.remote, "merge-base", "--is-ancestor", after, "curator/draft")
    opened = github.open_prs()
    assert len(opened) == 1 and opened[0]["number"] == 2 and opened[0]["title"] == "curator: draft of issue 2"
    assert "drafts/issue-2.md" in git(github.remote, "ls-tree", "-r", "--name-only", "curator/draft").split()


def test_no_cache_and_the_backups_cannot_be_listed_refuses_an_empty_start(github):
    first = github.run("nightly-collect.yml", "schedule", vars=VARS)
    assert first.ok, first.log()
    github.update(lambda s: s.update(caches=[], api_fails=True))
    run = github.run("nightly-collect.yml", "schedule", vars=VARS)
    step = run.jobs["collect"].step("Restore the newest store backup")
    assert step.outcome == "failure" and "refusing to start from an empty store" in step.output
    assert run.jobs["collect"].step("Collect").outcome == "skipped"


def test_an_editor_push_to_the_same_file_during_the_run_pushes_nothing(github, tmp_path):
    """The branch appears (with the editor's draft) while the first run drafts: nothing is overwritten."""
    ed = editor_clone(github, tmp_path / "editor")
    pushed = []

    def editor_pushes(step: str, ws: Path) -> None:
        if step.startswith("Commit and push") and not pushed:
            git(ed, "checkout", "-q", "-b", "curator/draft")
            (ed / "drafts").mkdir(exist_ok=True)
            (ed / "drafts" / "issue-1.md").write_text("# 我自己写的一期\n", encoding="utf-8")
            git(ed, "add", "drafts/issue-1.md")
            git(ed, "commit", "-q", "-m", "editor: my own draft")
            git(ed, "push", "-q", "origin", "curator/draft")
            pushed.append(git(ed, "rev-parse", "HEAD").strip())

    run = github.run("weekly-draft.yml", "schedule", vars=VARS, before_step=editor_pushes)
    step = run.jobs["draft"].step("Commit and push")
    assert step.outcome == "failure" and "the editor changed drafts/issue-1.md" in step.output, step.output
    assert git(github.remote, "rev-parse", "curator/draft").strip() == pushed[0]  # untouched
    assert not github.open_prs()
    # the store was still backed up (the work of the run is not lost)
    assert github.state()["artifacts"][-1]["workflow_run"]["id"] == run.run_id


def test_too_little_time_left_for_collect_is_a_loud_failure(github):
    """The deadline is derived from the job's timeout: with 1 minute and 30 s kept for later, none is left."""
    run = github.run("nightly-collect.yml", "schedule", vars=VARS,
                     job_env={"JOB_TIMEOUT_MINUTES": "1", "AFTER_COLLECT_S": "30"})
    step = run.jobs["collect"].step("Collect")
    assert step.outcome == "failure" and "left for collect" in step.output, step.output
