"""The local engine stays as it was: no Celery (nor kombu, billiard, curator.engine) import unless
run.engine = "celery";
the [celery] settings load from config and environment, and their passwords are masked wherever shown."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.engine_help import REPO, base_env, cli
from tests.sites import NewsSite

PROBE = """
import sys
from curator.cli import main
sys.argv = ["curator", "collect", "--provider", "offline"]
try:
    main()
except SystemExit as exc:
    code = exc.code
print("EXIT", code)
# datasketch and scipy too: clustering makes its MinHashes itself (curator.lsh), ~50 MB less in a collect.
print("LOADED", sorted({m.split(".")[0] for m in sys.modules}
                       & {"celery", "kombu", "billiard", "amqp", "vine", "redis", "datasketch", "scipy"}
                       | {m for m in sys.modules if m.startswith("curator.engine")}))
"""


def test_a_local_collect_imports_no_celery_or_redis(workspace):
    with NewsSite(n_articles=3) as site:
        site.write_sources(workspace)
        env = base_env(workspace, "redis://127.0.0.1:1/0")
        done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, cwd=REPO,
                              timeout=300, check=False)
    assert "EXIT 0" in done.stdout, done.stdout + done.stderr
    assert "LOADED []" in done.stdout, done.stdout
    assert "fetch" in done.stdout  # it did collect: the summary lists the fetch stage


def test_celery_settings_from_env_with_the_password_masked(workspace):
    env = base_env(workspace, "redis://:broker-pass-77@127.0.0.1:6390/2", CURATOR_RUN__ENGINE="celery",
                   CURATOR_CELERY__RESULT_BACKEND="redis://:result-pass-88@127.0.0.1:6390/3")
    done = cli(env, "config", "show", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["run.engine"]["value"] == "celery"
    assert shown["celery.broker_url"]["value"] == "redis://127.0.0.1:6390/2"
    assert "broker-pass-77" not in done.stdout and "result-pass-88" not in done.stdout


def test_a_bad_engine_name_is_a_config_error(workspace):
    env = base_env(workspace, "redis://127.0.0.1:1/0", CURATOR_RUN__ENGINE="kubernetes")
    done = cli(env, "collect")
    assert done.returncode == 78, done.stderr
    assert "run.engine" in done.stderr and "Traceback" not in done.stderr
