"""curator: collect, clean, summarise and draft a tech weekly for human review."""
__version__ = "0.1.0"

import sys as _sys

# httpx imports its command-line client whenever click, rich and pygments are installed (typer installs them):
# ~4 MB and ~35 ms in every process that imports httpx, for a command curator never runs. A None entry makes
# that one import fail, which httpx handles (its own `httpx` command would then say it is not installed).
_sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
