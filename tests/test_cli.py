"""End-to-end tests of the `searchkit` command (subprocesses, plus one CliRunner test)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import searchkit
from conftest import SAMPLES, write_post

DATA = "2021-07-12-shenzhen-data-exchange.md"
DATA_TITLE = "广东支持深圳建设粤港澳大湾区数据交易平台"
BRIEFING = "news/2022-03-01-english-briefing.html"
SUMMARY = re.compile(r"added (\d+), updated (\d+), removed (\d+), unchanged (\d+), skipped (\d+)")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SEARCHKIT_") and k not in (
               "FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS")}
    env.update(extra)
    return env


def sk(*args: str, cwd: Path, env: dict[str, str] | None = None,
       timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run `python -m searchkit ARGS` with stdout/stderr piped."""
    return subprocess.run([sys.executable, "-m", "searchkit", *map(str, args)], cwd=cwd,
                          env=env if env is not None else clean_env(), capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=timeout)


def summary(stderr: str) -> tuple[int, ...]:
    match = SUMMARY.search(stderr)
    assert match, stderr
    return tuple(int(n) for n in match.groups())


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """A copy of sample_posts/ indexed through the command line (once per module)."""
    root = tmp_path_factory.mktemp("cli")
    posts = root / "posts"
    shutil.copytree(SAMPLES, posts)
    index = root / "index"
    proc = sk("index", posts, "--index", index, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return {"root": root, "posts": posts, "index": index, "proc": proc}


# ------------------------------------------------------------------ index

def test_index_summary_goes_to_stderr(built):
    proc = built["proc"]
    assert proc.stdout == ""
    assert summary(proc.stderr) == (14, 0, 0, 0, 0)
    assert str(built["index"]) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_second_index_run_changes_nothing(built, tmp_path):
    proc = sk("index", built["posts"], "--index", built["index"], cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == ""
    assert summary(proc.stderr) == (0, 0, 0, 14, 0)


# ------------------------------------------------------------------ query

def test_query_prints_title_and_path(built):
    proc = sk("query", "数据交易", "--index", built["index"], cwd=built["root"])
    assert proc.returncode == 0, proc.stderr
    assert DATA_TITLE in proc.stdout
    assert DATA in proc.stdout
    assert "2021-07-12" in proc.stdout
    assert "\x1b[" not in proc.stdout, "piped output must be plain"
    assert "1-1 of 1" in proc.stderr and "1-1 of 1" not in proc.stdout


def test_query_json(built):
    proc = sk("query", "数据交易", "--index", built["index"], "--json", cwd=built["root"])
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert set(data) == {"total", "hits"}
    assert data["total"] == 1
    (hit,) = data["hits"]
    assert set(hit) == {"path", "title", "date", "tags", "categories", "author", "url", "score",
                        "snippet", "highlights"}
    assert hit["path"] == DATA and hit["title"] == DATA_TITLE
    assert (built["posts"] / hit["path"]).is_file()
    assert all(hit["snippet"][s:e] for s, e in hit["highlights"])


def test_query_json_path_relative_to_source_subfolder(built):
    proc = sk("query", '"Morning Briefing"', "--index", built["index"], "--json", cwd=built["root"])
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [h["path"] for h in data["hits"]] == [BRIEFING]
    assert not Path(BRIEFING).is_absolute() and (built["posts"] / BRIEFING).is_file()


def test_query_options(built):
    proc = sk("query", "date:2021", "--index", built["index"], "--json", "--sort", "-date",
              "--limit", "2", "--offset", "1", cwd=built["root"])
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["total"] == 5
    assert [h["date"][:10] for h in data["hits"]] == ["2021-07-26", "2021-07-20"]
    proc = sk("query", "港", "--index", built["index"], "--json", "--tag", "港铁", "--from", "2021",
              cwd=built["root"])
    assert [h["path"] for h in json.loads(proc.stdout)["hits"]] == ["article_101.md"]


def test_no_hits_exit_1_and_empty_stdout(built):
    proc = sk("query", '"没有这样的短语"', "--index", built["index"], cwd=built["root"])
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "0 of 0" in proc.stderr


def test_no_hits_json(built):
    proc = sk("query", '"没有这样的短语"', "--index", built["index"], "--json", cwd=built["root"])
    assert proc.returncode == 1
    assert json.loads(proc.stdout) == {"total": 0, "hits": []}


@pytest.mark.parametrize("query, named", [
    ("foo:bar", "foo"), ("date:2021-13", "2021-13"), ("date:..", ".."), ("title:", "title"),
])
def test_bad_query_exit_2_one_error_line_and_hint(built, query, named):
    proc = sk("query", query, "--index", built["index"], cwd=built["root"])
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith("searchkit: error:")
    assert named in lines[0]
    assert lines[1].startswith("hint:")
    assert "Traceback" not in proc.stderr


def test_bad_sort_is_an_input_error(built):
    proc = sk("query", "港", "--sort", "score", "--index", built["index"], cwd=built["root"])
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("searchkit: error:") and "score" in proc.stderr


@pytest.mark.parametrize("command", [["query", "港"], ["stats"]])
def test_missing_index_exit_2_clear_message(tmp_path, command):
    missing = tmp_path / "no-such-index"
    proc = sk(*command, "--index", missing, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("searchkit: error:")
    assert str(missing) in lines[0] and "index" in lines[0]
    assert any(line.startswith("hint:") and "searchkit index" in line for line in lines[1:])
    assert "Traceback" not in proc.stderr


def test_traceback_flag_shows_traceback(built):
    proc = sk("--traceback", "query", "foo:bar", "--index", built["index"], cwd=built["root"])
    assert proc.returncode != 0
    assert "Traceback (most recent call last)" in proc.stderr
    assert "QuerySyntaxError" in proc.stderr
    assert proc.stdout == ""


# ------------------------------------------------------------ stats, meta

def test_stats(built):
    proc = sk("stats", "--index", built["index"], cwd=built["root"])
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^posts:\s+14\s*$", proc.stdout, re.M), proc.stdout
    assert "2016-09-05" in proc.stdout and "2023-05-28" in proc.stdout
    proc = sk("stats", "--index", built["index"], "--json", cwd=built["root"])
    data = json.loads(proc.stdout)
    assert data["posts"] == 14
    assert data["first_date"].startswith("2016-09-05") and data["last_date"].startswith("2023-05-28")
    assert ["联合早报", 7] in data["top_tags"]


def test_version(tmp_path):
    proc = sk("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"searchkit {searchkit.__version__}"


def test_help(tmp_path):
    proc = sk("--help", cwd=tmp_path)
    assert proc.returncode == 0
    for word in ("index", "query", "stats", "--version"):
        assert word in proc.stdout
    proc = sk("query", "--help", cwd=tmp_path)
    assert proc.returncode == 0
    for word in ("QUERY", "--json", "--limit", "--sort", "--index"):
        assert word in proc.stdout


def test_searching_does_not_load_the_indexer():
    # a cold `searchkit query` pays for every module it imports: the indexer
    # (sources, worker processes, merging) is for `searchkit index` only
    code = ("import sys, searchkit.search, searchkit.cli; "
            "print(sorted(m for m in ('searchkit.indexer', 'searchkit.workers', 'multiprocessing') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean_env(),
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_console_script_exists():
    script = Path(sys.executable).with_name("searchkit")
    assert script.exists()
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True,
                          env=clean_env(), timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"searchkit {searchkit.__version__}"


# ---------------------------------------------------------------- strict

def test_index_strict_with_empty_file(tmp_path):
    posts = tmp_path / "posts"
    shutil.copytree(SAMPLES, posts)
    (posts / "empty.md").write_bytes(b"")
    proc = sk("index", posts, "--index", tmp_path / "strict-index", "--strict", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "empty.md" in proc.stderr
    assert any(line.startswith("searchkit: error:") for line in proc.stderr.splitlines())
    # without --strict the same run succeeds and still names the file
    proc = sk("index", posts, "--index", tmp_path / "lenient-index", cwd=tmp_path)
    assert proc.returncode == 0
    assert "empty.md" in proc.stderr and proc.stdout == ""
    assert summary(proc.stderr) == (14, 0, 0, 0, 1)


# ---------------------------------------------------------------- locale

def test_c_locale_with_piped_stdout(built):
    env = clean_env(LANG="C", LC_ALL="C")
    env.pop("PYTHONIOENCODING", None)
    env.pop("PYTHONUTF8", None)
    proc = sk("query", "数据交易", "--index", built["index"], cwd=built["root"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert "UnicodeEncodeError" not in proc.stderr
    assert DATA in proc.stdout
    proc = sk("query", "数据交易", "--index", built["index"], "--json", cwd=built["root"], env=env)
    assert proc.returncode == 0 and json.loads(proc.stdout)["total"] == 1
    proc = sk("query", "foo:数据", "--index", built["index"], cwd=built["root"], env=env)
    assert proc.returncode == 2 and "UnicodeEncodeError" not in proc.stderr
    assert proc.stderr.startswith("searchkit: error:")


def test_pure_ascii_locale_does_not_crash(built):
    env = clean_env(LANG="C", LC_ALL="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    env.pop("PYTHONIOENCODING", None)
    proc = sk("query", "数据交易", "--index", built["index"], cwd=built["root"], env=env)
    assert "UnicodeEncodeError" not in proc.stderr
    assert proc.returncode == 0
    assert DATA in proc.stdout


# ------------------------------------------------------------ settings

def test_searchkit_index_env_is_used(built, tmp_path):
    env = clean_env(SEARCHKIT_INDEX=str(built["index"]))
    proc = sk("query", "数据交易", "--json", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["hits"][0]["path"] == DATA
    proc = sk("stats", "--json", cwd=tmp_path, env=env)
    assert json.loads(proc.stdout)["posts"] == 14


def test_index_flag_wins_over_env(built, tmp_path):
    env = clean_env(SEARCHKIT_INDEX=str(tmp_path / "nowhere"))
    proc = sk("query", "数据交易", "--json", "--index", built["index"], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total"] == 1
    env = clean_env(SEARCHKIT_INDEX=str(built["index"]))
    proc = sk("query", "数据交易", "--index", tmp_path / "nowhere", cwd=tmp_path, env=env)
    assert proc.returncode == 2
    assert str(tmp_path / "nowhere") in proc.stderr


def test_default_index_is_relative_to_cwd(tmp_path):
    proc = sk("query", "港", cwd=tmp_path)
    assert proc.returncode == 2
    assert "index" in proc.stderr and proc.stdout == ""


# ----------------------------------------------------------- incremental

def query_json(index: Path, cwd: Path, query: str) -> dict:
    proc = sk("query", query, "--index", index, "--json", "--limit", "100", cwd=cwd)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


def hit_paths(index: Path, cwd: Path, query: str) -> list[str]:
    return [h["path"] for h in query_json(index, cwd, query)["hits"]]


@pytest.fixture()
def changed(tmp_path):
    """Index a copy of the posts, then add one, change one and delete one."""
    posts = tmp_path / "posts"
    shutil.copytree(SAMPLES, posts)
    index = tmp_path / "index"
    first = sk("index", posts, "--index", index, cwd=tmp_path)
    assert first.returncode == 0 and summary(first.stderr)[:3] == (14, 0, 0)
    write_post(posts, "2024-01-02-new-post.md", "全新的文章", "独一无二的新内容呱呱呱。", date="2024-01-02")
    target = posts / DATA
    before = target.stat()
    target.write_text(target.read_text(encoding="utf-8").replace("数据交易", "数据买卖"),
                      encoding="utf-8")
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns + 5_000_000_000))
    (posts / "article_102.md").unlink()
    second = sk("index", posts, "--index", index, cwd=tmp_path)
    return {"root": tmp_path, "posts": posts, "index": index, "proc": second}


def test_incremental_summary(changed):
    proc = changed["proc"]
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert summary(proc.stderr) == (1, 1, 1, 12, 0)


def test_incremental_queries_reflect_changes(changed):
    index, root = changed["index"], changed["root"]
    assert hit_paths(index, root, "呱呱呱") == ["2024-01-02-new-post.md"]
    assert hit_paths(index, root, '"数据买卖"') == [DATA]
    assert hit_paths(index, root, '"数据交易"') == []
    assert hit_paths(index, root, '"房屋委員會今日公布"') == []
    assert "article_102.md" not in hit_paths(index, root, "date:1900..2100")
    stats = json.loads(sk("stats", "--index", index, "--json", cwd=root).stdout)
    assert stats["posts"] == 14


def test_rebuild_equals_fresh_build(changed):
    root, posts, index = changed["root"], changed["posts"], changed["index"]
    proc = sk("index", posts, "--index", index, "--rebuild", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert summary(proc.stderr)[:3] == (14, 0, 0)
    fresh = root / "fresh"
    proc = sk("index", posts, "--index", fresh, cwd=root)
    assert proc.returncode == 0, proc.stderr
    for query in ["呱呱呱", '"数据买卖"', '"数据交易"', '"房屋委員會今日公布"', "港", "date:2021"]:
        assert query_json(index, root, query) == query_json(fresh, root, query), query
    assert hit_paths(index, root, "呱呱呱") == ["2024-01-02-new-post.md"]
    assert hit_paths(index, root, '"数据买卖"') == [DATA]
    assert hit_paths(index, root, '"数据交易"') == []


# ------------------------------------------------------------- CliRunner

def test_cli_runner(built):
    from typer.testing import CliRunner

    from searchkit.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["query", "国家安全", "--index", str(built["index"]), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total"] == 2
    assert {h["path"] for h in data["hits"]} == {"2018-04-15-national-security-education-day.md",
                                                   "article_104.md"}
    result = runner.invoke(app, ["query", "foo:bar", "--index", str(built["index"])])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("searchkit: error:") and "'foo'" in result.stderr
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"searchkit {searchkit.__version__}"


@pytest.mark.parametrize("query", ["数据交易", "香港", "tag:联合早报", "NOT 香港"])
def test_piped_results_are_what_rich_prints(sample_ix, query, monkeypatch, capsys):
    """Piped output skips rich (a faster cold query) and must be the same
    text rich prints to a pipe."""
    from searchkit import render

    res = sample_ix.search(query, limit=5, collapse_duplicates=True)
    assert res.hits
    outputs = []
    for plain in (True, False):
        monkeypatch.setattr(render, "_plain", lambda plain=plain: plain)
        render.render_results(res, 0)
        outputs.append(capsys.readouterr())
    assert outputs[0].out == outputs[1].out and outputs[0].err == outputs[1].err
    assert res.hits[0].path in outputs[0].out
