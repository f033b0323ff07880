"""The command line (`curator …`): a thin veneer over the library; `curator.cli:main` is the entry point."""

from curator.cli.app import app, main

__all__ = ["app", "main"]
