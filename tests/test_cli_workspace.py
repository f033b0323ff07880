"""`curator.cli.workspace()`: the one way every command opens its workspace, and the exit codes it gives."""

from __future__ import annotations

import pytest
import typer

from curator.cli.workspace import workspace
from curator.errors import CuratorError, Interrupted
from curator.runlock import RunLock
from curator.settings import load_settings


def _code(excinfo: pytest.ExceptionInfo[typer.Exit]) -> int:
    return excinfo.value.exit_code


def test_a_missing_home_is_a_config_error_78_before_anything_is_made(tmp_path):
    home = tmp_path / "nope"
    with pytest.raises(typer.Exit) as exc, workspace(home, "collect"):
        raise AssertionError("the body must not run")
    assert _code(exc) == 78 and not home.exists()


def test_a_held_lock_exits_75_and_opens_no_store(workspace_dir):
    settings = load_settings(workspace_dir, env={})
    with RunLock(settings.lock_path, "other"), pytest.raises(typer.Exit) as exc, workspace(workspace_dir, "collect"):
        raise AssertionError("the body must not run")
    assert _code(exc) == 75 and not settings.db_path.exists()


def test_an_error_in_the_body_exits_with_its_code_after_the_lock_is_released(workspace_dir, capsys):
    with pytest.raises(typer.Exit) as exc, workspace(workspace_dir, "collect") as ws:
        assert ws.store is not None
        raise Interrupted("run stopped: SIGTERM")
    assert _code(exc) == 143
    assert "curator: error: run stopped: SIGTERM" in capsys.readouterr().err
    with RunLock(load_settings(workspace_dir, env={}).lock_path, "next"):
        pass  # released


def test_before_runs_ahead_of_the_lock_and_the_store(workspace_dir):
    def before(settings: object) -> None:
        raise CuratorError("refused up front")

    settings = load_settings(workspace_dir, env={})
    with pytest.raises(typer.Exit) as exc, workspace(workspace_dir, "add", before=before):
        raise AssertionError("the body must not run")
    assert _code(exc) == 1 and not settings.db_path.exists()


def test_a_typer_exit_from_the_body_passes_through_and_store_false_opens_none(workspace_dir):
    with pytest.raises(typer.Exit) as exc, workspace(workspace_dir, store=False) as ws:
        with pytest.raises(AssertionError):
            _ = ws.store
        raise typer.Exit(3)
    assert _code(exc) == 3


@pytest.fixture
def workspace_dir(workspace):
    return workspace
