"""The demo (`curator demo`): the runner, the loopback corpus server (`server`), the corpus data (`corpus/`).

The runner's names are re-exported lazily, so `curator.demo.server` (stdlib + cryptography, used by the
tests and the bench on its own) does not import the whole pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from curator.demo.runner import CORPUS, DEMO_AS_OF, demo_settings, init_workspace, run_demo

__all__ = ["CORPUS", "DEMO_AS_OF", "demo_settings", "init_workspace", "run_demo"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from curator.demo import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'curator.demo' has no attribute {name!r}")
