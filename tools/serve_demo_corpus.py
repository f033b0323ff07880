"""Serve the bundled demo corpus by hand until Ctrl-C, and print the fetch settings that reach it.

    python tools/serve_demo_corpus.py [--root SITES_DIR]

A developer's tool (not shipped in the wheel); the demo and the tests start `DemoServer` themselves.
"""

from __future__ import annotations

import argparse
import json
import time

from curator.demo.server import DemoServer


def main(argv: list[str] | None = None) -> int:
    """Serve the demo corpus until Ctrl-C and print how to reach it."""
    ap = argparse.ArgumentParser(prog="python tools/serve_demo_corpus.py", description=main.__doc__)
    ap.add_argument("--root", default=None, help="sites directory (default: the bundled corpus)")
    args = ap.parse_args(argv)
    with DemoServer(args.root) as srv:
        print(json.dumps(srv.fetch_overrides(), indent=2, ensure_ascii=False), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
