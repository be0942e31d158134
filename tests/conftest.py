"""Shared fixtures: a small index built from sample_posts/ in a temp dir."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import searchkit

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_posts"


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of sample_posts/ (built once per test session; do not modify)."""
    index_dir = tmp_path_factory.mktemp("sample-index") / "index"
    searchkit.build_index([str(SAMPLES)], str(index_dir))
    return index_dir


@pytest.fixture(scope="session")
def sample_ix(sample_index: Path) -> searchkit.Index:
    return searchkit.open_index(sample_index)


@pytest.fixture()
def posts_copy(tmp_path: Path) -> Path:
    """A private, writable copy of sample_posts/."""
    target = tmp_path / "posts"
    shutil.copytree(SAMPLES, target)
    return target


def write_post(folder: Path, name: str, title: str, body: str, **front: str) -> Path:
    """Write a small Markdown post with YAML front matter."""
    lines = ["---", f'title: "{title}"']
    lines += [f"{key}: {value}" for key, value in front.items()]
    lines += ["---", "", body, ""]
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
