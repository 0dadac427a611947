"""The generic real backends: SQLite and the sandboxed directory."""

from __future__ import annotations

import os
import pickle

import pytest

from tool_gym import SandboxWorld, SQLiteWorld, ToolError


@pytest.fixture
def db():
    w = SQLiteWorld("CREATE TABLE t(id INTEGER, name TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b');")
    yield w
    w.close()


def test_sqlite_read_and_write(db):
    assert db.query("SELECT name FROM t ORDER BY id")["rows"] == [["a"], ["b"]]
    assert db.query("UPDATE t SET name='z' WHERE id=1", write=True)["changes"] >= 1
    assert db.query("SELECT name FROM t WHERE id=1")["rows"] == [["z"]]


@pytest.mark.parametrize("sql", [
    "ATTACH DATABASE '/tmp/evil.db' AS evil",
    "PRAGMA writable_schema = 1",
    "DROP TABLE t",
    "CREATE TABLE u(x)",
    "UPDATE t SET name = 'x'",
    "VACUUM INTO '/tmp/copy.db'",
    "SELECT load_extension('/tmp/x.so')",
    "SELECT 1; SELECT 2",
])
def test_sqlite_refuses_what_it_must(db, sql):
    before = db.fingerprint()
    with pytest.raises(ToolError):
        db.query(sql)
    assert db.fingerprint() == before
    assert not os.path.exists("/tmp/evil.db") and not os.path.exists("/tmp/copy.db")


def test_sqlite_long_query_is_stopped(db):
    db.time_limit_s = 0.05
    with pytest.raises(ToolError, match="stopped after"):
        db.query("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) "
                 "SELECT count(*) FROM c")


def test_sqlite_fork_is_independent_and_pickles(db):
    clone = db.fork()
    clone.query("DELETE FROM t", write=True)
    assert db.query("SELECT count(*) FROM t")["rows"] == [[2]]
    again = pickle.loads(pickle.dumps(db))
    assert again.fingerprint() == db.fingerprint()


def test_sandbox_confines_paths(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    w = SandboxWorld({"a/b.txt": "hello"})
    os.symlink(outside, w.root / "link.txt")
    os.symlink("/etc", w.root / "etc")
    assert w.resolve("a/b.txt").read_text() == "hello"
    assert w.resolve("a/../a/b.txt").read_text() == "hello"
    for bad in ["../x", "/etc/passwd", "a/../../x", "link.txt", "etc/passwd", "~/x", "C:/x",
                "a/\x00"]:
        with pytest.raises(ToolError):
            w.resolve(bad)
    root = w.root
    w.close()
    assert not root.exists()


def test_sandbox_fork_is_independent():
    w = SandboxWorld({"f.txt": "1"})
    clone = w.fork()
    clone.resolve("f.txt").write_text("2")
    assert w.resolve("f.txt").read_text() == "1" and w.fingerprint() != clone.fingerprint()
    w.close()
    clone.close()
