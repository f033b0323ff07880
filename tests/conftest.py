"""Shared fixtures: a workspace with the default config, the demo corpus server, the fake LLM."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.canary import CANARY

pytest_plugins = ["tests.servers"]

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURE_NOW = datetime(2026, 11, 23, 23, 59, tzinfo=UTC)  # the fixtures' week ends here (= the demo's)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An initialised curator workspace (config + prompts copied from the repo, no sources)."""
    (tmp_path / "config").mkdir()
    shutil.copyfile(REPO / "config" / "curator.toml", tmp_path / "config" / "curator.toml")
    shutil.copytree(REPO / "prompts", tmp_path / "prompts")
    # Fixture feeds carry fixed dates in Nov 2026: keep them fetchable whenever the suite runs, and
    # run every window (draft, status, max_age, clustering) on that week's clock, never the wall's.
    (tmp_path / "config" / "zz-tests.toml").write_text(f'[run]\nmax_age_days = 0\nnow = "{FIXTURE_NOW.isoformat()}"\n')
    return tmp_path


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request, tmp_path: Path) -> Path | str:
    """What `Store()` opens, once per backend: a SQLite file, then a fresh Postgres database on loopback
    (skipped with a reason when Postgres is not installed; a failure under CI=true)."""
    if request.param == "sqlite":
        return tmp_path / "c.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def fake_llm():
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _canary_never_leaks(caplog, tmp_path):
    """After every test: the canary key is in no log record and no file the test wrote."""
    caplog.set_level(logging.DEBUG)
    yield
    for record in caplog.records:
        shown = record.getMessage() + (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
        assert CANARY not in shown, f"secret leaked into a log record from {record.name}"
    _assert_no_canary_in(tmp_path)


def _assert_no_canary_in(root: Path) -> None:
    needle = CANARY.encode()
    for path in root.rglob("*"):
        if path.suffix == ".toml":  # the editor's own config files are input, not output
            continue
        if path.is_file() and path.stat().st_size < 50_000_000:
            assert needle not in path.read_bytes(), f"secret leaked into {path}"


def pytest_sessionfinish(session, exitstatus):
    """Last sweep over everything the whole session wrote (stores, drafts, WAL files, logs)."""
    base = session.config._tmp_path_factory.getbasetemp() if hasattr(session.config, "_tmp_path_factory") else None
    if base is None or not Path(base).exists():
        return
    try:
        _assert_no_canary_in(Path(base))
    except AssertionError as exc:
        print(f"\nCANARY CHECK FAILED: {exc}")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """One demo workspace (collected and drafted on the bundled corpus) for the whole run: tests copy it
    (shutil.copytree) and change only their copy."""
    from curator.demo import run_demo

    ws = tmp_path_factory.mktemp("demo") / "ws"
    run_demo(ws, env={}, echo=lambda *_: None)
    return ws
