"""Write curator/opencc_tables.json: the tables curator derives from the installed OpenCC dictionaries.

    .venv/bin/python tools/opencc_tables.py

Run it after upgrading opencc-python-reimplemented (tests/test_text.py says when the shipped copy no
longer matches); until then curator derives the tables on each start, ~25 ms slower.
"""

from __future__ import annotations

import json
from typing import Any

from curator import text, vocab


def derive() -> dict[str, Any]:
    """The tables as the installed dictionaries give them, with the fingerprint of those dictionaries."""
    return {
        "fingerprint": text.opencc_fingerprint(),
        "changeable": "".join(sorted(text.derive_changeable())),
        "traditional": dict(sorted(text.derive_traditional_table().items())),
        "taiwan_phrases": dict(sorted(vocab.derive_phrase_table().items())),
    }


def main() -> int:
    text.TABLES_FILE.write_text(json.dumps(derive(), ensure_ascii=False, indent=0, sort_keys=True) + "\n",
                                encoding="utf-8")
    print(f"wrote {text.TABLES_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
