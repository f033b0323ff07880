"""Front matter extras: keys a blog's posts carry that no built-in variant knows (Hexo's `type: garden`).

`publication.front_matter_extra` (a TOML table) passes through verbatim as YAML: each key replaces a
built-in line of the same name, the others are added before the closing `---`.
"""

from __future__ import annotations

import re
from typing import Any

from curator.errors import ConfigError

__all__ = ["KEY", "merge_extra"]

KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _yaml_line(key: str, value: Any) -> str:
    import yaml  # only a config with extras needs the YAML writer (~10 ms to import): not every draft

    try:
        dumped = yaml.safe_dump({key: value}, allow_unicode=True, default_flow_style=False, sort_keys=False, width=10_000)
    except yaml.YAMLError as exc:
        raise ConfigError(f"publication.front_matter_extra.{key}: cannot be written as YAML ({exc})") from None
    return dumped.rstrip("\n")


def merge_extra(text: str, extra: dict[str, Any]) -> str:
    """`text` (a rendered draft) with `extra` merged into its leading YAML front matter; unchanged
    when there is no extra or no front matter (`front_matter = "none"`)."""
    if not extra:
        return text
    bad = [k for k in extra if not KEY.match(k)]
    if bad:
        raise ConfigError(
            f"publication.front_matter_extra: key {bad[0]!r} is not a plain YAML key "
            "(letters, digits, '_' or '-'); rename it in config/curator.toml"
        )
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return text
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        return text
    head = lines[1:end]
    # Drop the built-in line of a key the config sets (and its indented continuation lines).
    kept: list[str] = []
    skipping = False
    for line in head:
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:", line)
        if m:
            skipping = m.group(1) in extra
        elif not line.startswith((" ", "\t", "-")):
            skipping = False
        if not skipping:
            kept.append(line)
    added = [_yaml_line(k, v) for k, v in extra.items()]
    return "\n".join(["---", *kept, *added, *lines[end:]])
