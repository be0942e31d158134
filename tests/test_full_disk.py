"""A full disk or a read-only index folder, simulated in-process (the test
machine runs as root, for whom permission bits do not apply)."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import searchkit
from searchkit.cli import app
from tests.conftest import SAMPLES, write_post


def _index_with_one_more_post(tmp_path: Path) -> tuple[Path, Path, set[str]]:
    posts, index = tmp_path / "posts", tmp_path / "ix"
    shutil.copytree(SAMPLES, posts)
    searchkit.build_index([str(posts)], str(index))
    before = _found(index)
    write_post(posts, "new.md", "新文章", "這是一篇新的文章，的確如此。")
    return posts, index, before


def _found(index: Path) -> set[str]:
    """The paths of the posts holding 的 (every sample post and new.md)."""
    return {h.path for h in searchkit.open_index(index).search("的", limit=100).hits}


def _run(posts: Path, index: Path) -> object:
    return CliRunner().invoke(app, ["index", str(posts), "--index", str(index)])


def _refused(result: object, *phrases: str) -> None:
    """The run ended with exit code 2 and a one-line reason, no traceback."""
    assert result.exit_code == 2
    assert all(phrase in result.output for phrase in phrases), result.output
    assert "Traceback" not in result.output


def test_disk_full_while_writing_keeps_the_previous_index(tmp_path, monkeypatch) -> None:
    posts, index, before = _index_with_one_more_post(tmp_path)

    def no_space(self):  # noqa: ANN001
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("searchkit.segments.SegmentBuilder.finish", no_space)
    _refused(_run(posts, index), "No space left on device", "previous index is unchanged")
    monkeypatch.undo()
    assert _found(index) == before
    assert _run(posts, index).exit_code == 0  # space again: the run completes
    assert "new.md" in _found(index)


def test_read_only_index_folder_gives_a_clear_error(tmp_path, monkeypatch) -> None:
    posts, index, before = _index_with_one_more_post(tmp_path)
    import whoosh.util.filelock as filelock

    real_open = filelock.os.open

    def refuse(path, *args, **kwargs):  # noqa: ANN001
        if str(path).startswith(str(index)):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(filelock.os, "open", refuse)
    _refused(_run(posts, index), "cannot lock the index", "Permission denied")
    monkeypatch.undo()
    assert _found(index) == before


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_library_raises_index_write_error(tmp_path, monkeypatch, code) -> None:
    posts, index, _ = _index_with_one_more_post(tmp_path)

    def fail(self):  # noqa: ANN001
        raise OSError(code, "simulated")

    monkeypatch.setattr("searchkit.segments.SegmentBuilder.finish", fail)
    with pytest.raises(searchkit.IndexWriteError):
        searchkit.build_index([str(posts)], str(index))
