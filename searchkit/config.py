"""Settings, resolved once: flag > SEARCHKIT_* environment > searchkit.toml > default."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SearchkitError

DEFAULT_INDEX = "index"
DEFAULT_SOURCE = "sample_posts"
CONFIG_NAME = "searchkit.toml"


class ConfigError(SearchkitError):
    """The configuration file or an environment variable is invalid."""


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about where and how to work."""

    index_dir: Path = Path(DEFAULT_INDEX)
    sources: tuple[Path, ...] = (Path(DEFAULT_SOURCE),)
    timezone: str = "UTC"
    workers: int = field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)))
    userdict: Path | None = None
    title_boost: float = 3.0


def _read_config_file(index_dir: Path | None) -> dict[str, Any]:
    """The first searchkit.toml next to the index or in the current folder;
    relative paths in it are read from the file's folder."""
    candidates = [Path.cwd() / CONFIG_NAME]
    if index_dir is not None:
        candidates.insert(0, index_dir / CONFIG_NAME)
    for path in candidates:
        if path.is_file():
            try:
                conf = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
                raise ConfigError(f"cannot read {path}: {exc}") from exc
            conf["_folder"] = path.parent
            return conf
    return {}


def resolve_settings(index: str | os.PathLike[str] | None = None,
                     sources: list[str] | tuple[str, ...] | None = None,
                     timezone: str | None = None,
                     workers: int | None = None,
                     userdict: str | os.PathLike[str] | None = None) -> Settings:
    """Combine flags (the arguments), environment, config file and defaults."""
    env = os.environ
    index_value = index or env.get("SEARCHKIT_INDEX")
    file_conf = _read_config_file(Path(index_value) if index_value else None)
    if index_value:
        index_dir = Path(index_value)
    elif "index" in file_conf:
        index_dir = file_conf["_folder"] / file_conf["index"]
    else:
        index_dir = Path(DEFAULT_INDEX)
    if sources:
        source_list = [Path(s) for s in sources]
    elif env.get("SEARCHKIT_SOURCE"):
        source_list = [Path(s) for s in env["SEARCHKIT_SOURCE"].split(os.pathsep) if s]
    elif file_conf.get("sources"):
        raw = file_conf["sources"]
        source_list = [file_conf["_folder"] / s for s in ([raw] if isinstance(raw, str) else raw)]
    else:
        source_list = [Path(DEFAULT_SOURCE)]
    tz = timezone or env.get("SEARCHKIT_TIMEZONE") or file_conf.get("timezone") or "UTC"
    worker_value = workers or env.get("SEARCHKIT_WORKERS") or file_conf.get("workers")
    try:
        worker_count = int(worker_value) if worker_value else Settings().workers
    except ValueError:
        raise ConfigError(f"SEARCHKIT_WORKERS must be a number, not {worker_value!r}") from None
    folder = file_conf.get("_folder", Path.cwd())
    words = userdict or env.get("SEARCHKIT_USERDICT") or file_conf.get("userdict")
    words_path = None
    if words:
        words_path = Path(words) if (userdict or env.get("SEARCHKIT_USERDICT")) else folder / words
    boost = file_conf.get("title_boost", 3.0)
    if not isinstance(boost, (int, float)) or boost <= 0:
        raise ConfigError(f"title_boost must be a positive number, not {boost!r}")
    return Settings(index_dir=index_dir, sources=tuple(source_list), timezone=str(tz),
                    workers=max(1, worker_count), userdict=words_path, title_boost=float(boost))
