"""The demo (`curator demo`): the runner, the loopback corpus server (`server`), the corpus data (`corpus/`)."""

from curator.demo.runner import CORPUS, DEMO_AS_OF, demo_settings, init_workspace, run_demo

__all__ = ["CORPUS", "DEMO_AS_OF", "demo_settings", "init_workspace", "run_demo"]
