"""Splitting a post into front matter and body, repairing what can be read.

YAML (`---`) goes through python-frontmatter; TOML (`+++`) through tomllib.
Invalid YAML is salvaged line by line (`key: value`), and said so.
"""

from __future__ import annotations

import re
import tomllib
from typing import Any

_TOML = re.compile(r"\A\+\+\+[ \t]*\n(.*?)\n\+\+\+[ \t]*(?:\n|\Z)", re.S)
_YAML = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_LINE = re.compile(r"^([A-Za-z_][\w-]*)\s*:\s*(.*?)\s*$")


def _salvage(block: str) -> dict[str, Any]:
    """Read `key: value` lines and `- item` lists from broken YAML."""
    meta: dict[str, Any] = {}
    last_key = None
    for line in block.splitlines():
        item = re.match(r"^\s+-\s+(.*?)\s*$", line)
        if item and last_key is not None:
            current = meta.get(last_key)
            items = current if isinstance(current, list) else []
            items.append(item.group(1).strip("\"'"))
            meta[last_key] = items
            continue
        match = _LINE.match(line)
        if match:
            last_key = match.group(1)
            meta[last_key] = match.group(2).strip("\"'") or None
    return meta


def split_front_matter(text: str) -> tuple[dict[str, Any], str, list[str]]:
    """Return (metadata, body, repairs) for a post's text."""
    toml_match = _TOML.match(text)
    if toml_match:
        body = text[toml_match.end():]
        try:
            return dict(tomllib.loads(toml_match.group(1))), body, []
        except tomllib.TOMLDecodeError as exc:
            return _salvage(toml_match.group(1)), body, [f"invalid TOML front matter ({exc}); read line by line"]
    yaml_match = _YAML.match(text)
    if not yaml_match:
        return {}, text, []
    import frontmatter
    import yaml

    body = text[yaml_match.end():]
    try:
        post = frontmatter.loads(text)
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        # YAMLError: bad syntax; ValueError: e.g. an impossible unquoted date
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        return _salvage(yaml_match.group(1)), body, [f"invalid YAML front matter ({reason}); read line by line"]
    except AttributeError:  # front matter is a list or scalar, not a mapping
        return {}, body, ["front matter is not a mapping; ignored"]
    if not isinstance(post.metadata, dict):
        return {}, body, ["front matter is not a mapping; ignored"]
    return dict(post.metadata), post.content if post.metadata else body, []
