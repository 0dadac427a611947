"""Worlds: the state behind a domain's tools, each cheap to fork for trial calls."""

from __future__ import annotations

import contextvars
import copy
import hashlib
import json
import math
import os
import re
import shutil
import sqlite3
import tempfile
import time
import weakref
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

from tool_gym.errors import ToolError

T = TypeVar("T")

# The monotonic time by which the current env step must end (set by ``ToolEnv.step``):
# backends that can be interrupted (SQLite) stop there, whatever their own limit.
STEP_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "tool_gym_step_deadline", default=None)


def lookup_id(table: Mapping[str, T], raw_id: str, error: str) -> T:
    """``table[raw_id]`` for an id the agent typed (spaces and case forgiven), else a
    :class:`ToolError` whose message is ``error`` with ``{id}`` replaced by the id as given
    (cut to 40 characters). Every domain words its own error: say what ids look like and
    which tool lists them."""
    key = raw_id.strip().upper()
    if key not in table:
        raise ToolError(error.format(id=raw_id[:40]))
    return table[key]


class World:
    """Base class. A world must fork (an independent copy for trials) and fingerprint itself.

    The default implementation deep-copies the instance, which suits small dataclass worlds.
    """

    def fork(self) -> World:
        """An independent copy: changes to it never reach ``self``."""
        return copy.deepcopy(self)

    def fingerprint(self) -> str:
        """A digest of the full state; equal digests mean equal states."""
        if is_dataclass(self):
            state = {f.name: getattr(self, f.name) for f in fields(self)}
        else:
            state = self.__dict__
        blob = json.dumps(state, sort_keys=True, default=repr)
        return hashlib.sha256(blob.encode()).hexdigest()

    def close(self) -> None:
        """Release external resources (files, connections). Idempotent."""


# sqlite3 authorizer action codes that a read-only query may use.
_READ_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}
_WRITE_ACTIONS = _READ_ACTIONS | {
    sqlite3.SQLITE_INSERT,
    sqlite3.SQLITE_UPDATE,
    sqlite3.SQLITE_DELETE,
    sqlite3.SQLITE_TRANSACTION,
    sqlite3.SQLITE_SAVEPOINT,
}
# Functions that could reach the file system or the process are never allowed, nor
# printf/format: printf('%.*c', 999999999, 'x') loops a billion times inside one call,
# past the length cap and beyond the progress handler's reach (SQLite 3.40).
_DENIED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
                     "printf", "format"}
# The statements each mode may run, by first keyword. The authorizer alone lets through
# statements that touch nothing it checks (REINDEX, DROP TABLE IF EXISTS of no table).
_READ_STATEMENTS = {"SELECT", "WITH", "VALUES"}
_WRITE_STATEMENTS = _READ_STATEMENTS | {"INSERT", "UPDATE", "DELETE", "REPLACE"}
# Per-connection caps (sqlite3_limit) on agent SQL. The progress handler cannot stop one
# expensive function call (zeroblob(999999999) is a single VM step): the length cap can.
SQL_LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: 1_000_000,  # bytes of one string or blob
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: 100_000,
    sqlite3.SQLITE_LIMIT_COLUMN: 100,
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 100,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 20,
    sqlite3.SQLITE_LIMIT_FUNCTION_ARG: 32,
    sqlite3.SQLITE_LIMIT_ATTACHED: 0,
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 1000,
    sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER: 100,
    sqlite3.SQLITE_LIMIT_TRIGGER_DEPTH: 10,
}
_WORD = re.compile(r"[A-Za-z_]+")


def first_keyword(sql: str) -> str:
    """The first word of a statement after whitespace and comments, upper-cased (linear
    time: a regex over comments can backtrack)."""
    i, n = 0, len(sql)
    while i < n:
        if sql[i].isspace():
            i += 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            break
    m = _WORD.match(sql, i)
    return m.group().upper() if m else ""


def _connect() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    for limit, value in SQL_LIMITS.items():
        conn.setlimit(limit, value)
    return conn


class SQLiteWorld(World):
    """A real SQLite database in memory, queried by the agent through tools.

    Agent SQL runs under an authorizer: no ATTACH, no PRAGMA, no schema changes, no
    extension loading; read-only unless the tool asks for writes. Each statement has a
    wall-clock budget after which it is interrupted with a clear error, and every
    connection caps string and blob sizes, expression depth and the like (``SQL_LIMITS``),
    so that no single statement takes more than about its time budget or a few MB.
    """

    def __init__(self, script: str = "", time_limit_s: float = 0.25) -> None:
        self.conn = _connect()
        self.time_limit_s = time_limit_s
        if script:
            self.conn.executescript(script)
            self.conn.commit()

    def fork(self) -> SQLiteWorld:
        clone = type(self).__new__(type(self))  # subclasses keep their type and fields
        clone.__dict__.update(copy.deepcopy({k: v for k, v in self.__dict__.items()
                                             if k != "conn"}))
        clone.conn = _connect()
        self.conn.backup(clone.conn)
        return clone

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for line in self.conn.iterdump():
            h.update(line.encode())
        return h.hexdigest()

    def __getstate__(self) -> dict[str, Any]:
        return {"db": self.conn.serialize(), "time_limit_s": self.time_limit_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.conn = _connect()
        self.conn.deserialize(state["db"])
        self.time_limit_s = state["time_limit_s"]

    def __deepcopy__(self, memo: dict[int, Any]) -> SQLiteWorld:
        return self.fork()

    def close(self) -> None:
        self.conn.close()

    def query(
        self, sql: str, params: tuple[Any, ...] | list[Any] = (), *, write: bool = False,
        max_rows: int = 50,
    ) -> dict[str, Any]:
        """Run one statement of agent SQL safely; returns columns and rows."""
        allowed = _WRITE_ACTIONS if write else _READ_ACTIONS
        if first_keyword(sql) not in (_WRITE_STATEMENTS if write else _READ_STATEMENTS):
            raise ToolError(_refusal(write))

        denied: list[str] = []

        def authorize(action: int, arg1: Any, arg2: Any, db: Any, trigger: Any) -> int:
            if action == sqlite3.SQLITE_FUNCTION and str(arg2).lower() in _DENIED_FUNCTIONS:
                denied.append(str(arg2).lower())
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK if action in allowed else sqlite3.SQLITE_DENY

        start = time.monotonic()
        deadline = min(start + self.time_limit_s, STEP_DEADLINE.get() or math.inf)
        self.conn.set_authorizer(authorize)
        self.conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 2000)
        before = self.conn.total_changes
        try:
            cur = self.conn.execute(sql, params)
            rows = cur.fetchmany(max_rows + 1)
            columns = [d[0] for d in cur.description] if cur.description else []
            if write:
                self.conn.commit()
            changed = self.conn.total_changes - before
        except (sqlite3.Warning, sqlite3.ProgrammingError) as e:
            raise ToolError(f"SQL error: {e}; send exactly one statement") from None
        except sqlite3.DatabaseError as e:  # OperationalError included
            self.conn.rollback()
            msg = str(e)
            if "interrupted" in msg:
                raise ToolError(f"query stopped after {max(0.0, deadline - start):.2f} s; add "
                                "a WHERE clause or LIMIT") from None
            if denied:
                raise ToolError(f"SQL function {denied[0]}() is not allowed on this "
                                "database") from None
            if "not authorized" in msg or "prohibited" in msg:
                raise ToolError(_refusal(write)) from None
            if "too big" in msg or "too many" in msg or "too large" in msg:
                raise ToolError(f"SQL error: {msg}; this database caps strings and blobs at "
                                f"{SQL_LIMITS[sqlite3.SQLITE_LIMIT_LENGTH]} bytes and "
                                "statements at a few hundred terms") from None
            raise ToolError(f"SQL error: {msg}") from None
        except UnicodeEncodeError:
            raise ToolError("SQL error: the text is not valid Unicode (lone surrogate)") from None
        except OverflowError as e:  # a Python int beyond SQLite's 64-bit INTEGER
            raise ToolError(f"SQL error: {e}") from None
        finally:
            self.conn.set_authorizer(None)
            self.conn.set_progress_handler(None, 0)
        truncated = len(rows) > max_rows
        result: dict[str, Any] = {"columns": columns, "rows": [list(r) for r in rows[:max_rows]]}
        if truncated:
            result["note"] = f"only the first {max_rows} rows are shown"
        if write:
            result["changes"] = changed
        return result


def _refusal(write: bool) -> str:
    kind = "SELECT/INSERT/UPDATE/DELETE" if write else "read-only SELECT statements"
    return f"statement not allowed: only {kind} on this database"


def _sandbox_base() -> str:
    # Worlds are small and short-lived: a RAM-backed directory makes fork ~10x cheaper.
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else tempfile.gettempdir()


def _sandbox_prefix() -> str:
    return f"toolgym-sandbox-{os.getpid()}-"  # the pid, so a leak check counts its own


def _mkdtemp() -> str:
    return tempfile.mkdtemp(prefix=_sandbox_prefix(), dir=_sandbox_base())


def remove_tree(root: str) -> None:
    """``shutil.rmtree(root, ignore_errors=True)`` for any depth: ``rmtree`` recurses per
    folder (RecursionError on deep trees). Iterative, and a folder whose path grows long is
    first moved up beside ``root``, so no path reaches the OS's length limit."""
    pending, emptied, moved = [root], [], 0
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue
        emptied.append(folder)
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    path = entry.path
                    if len(path) > 1024:
                        moved += 1
                        path = f"{root}.deep-{moved}"
                        os.rename(entry.path, path)
                    pending.append(path)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
    for folder in reversed(emptied):
        try:
            os.rmdir(folder)
        except OSError:
            pass


def live_sandboxes() -> list[str]:
    """The sandbox directories of this process that exist now (a leak check counts them)."""
    base = _sandbox_base()
    return sorted(os.path.join(base, n) for n in os.listdir(base)
                  if n.startswith(_sandbox_prefix()))


class SandboxWorld(World):
    """A real directory on disk that file tools may touch, and nothing outside it.

    ``resolve`` refuses absolute paths, ``..`` that climbs out, symlinks whose target
    lies outside the root and paths deeper than ``MAX_DEPTH``; a fork copies at most
    ``MAX_ENTRIES`` entries and ``MAX_BYTES`` bytes, iteratively (``shutil.copytree``
    recurses per folder). The directory is removed when the world is closed, garbage-
    collected or the interpreter exits, and a fork that fails removes its partial copy.
    """

    MAX_DEPTH = 16  # path components below the root
    MAX_ENTRIES = 2000
    MAX_BYTES = 50_000_000
    created = 0  # files and folders the tools created (forks copy it): O(1) to check

    def __init__(self, files: dict[str, str] | None = None, root: str | None = None) -> None:
        self.root = Path(root or _mkdtemp()).resolve()
        self._finalizer = weakref.finalize(self, remove_tree, str(self.root))
        for rel, text in (files or {}).items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def fork(self) -> SandboxWorld:
        clone_root = _mkdtemp()
        try:
            self._copy_to(clone_root)
            clone = type(self).__new__(type(self))  # subclasses keep their type and fields
            clone.__dict__.update(copy.deepcopy({k: v for k, v in self.__dict__.items()
                                                 if k not in ("root", "_finalizer")}))
            SandboxWorld.__init__(clone, root=clone_root)
        except BaseException:
            remove_tree(clone_root)
            raise
        return clone

    def _copy_to(self, dest: str) -> None:
        """Copy the tree under the limits (files, links and folders; nothing else)."""
        entries = size = 0
        stack = [(str(self.root), dest, 0)]
        try:
            while stack:
                src, dst, depth = stack.pop()
                with os.scandir(src) as it:
                    for entry in it:
                        entries += 1
                        if entries > self.MAX_ENTRIES:
                            raise ToolError(f"the workspace holds more than {self.MAX_ENTRIES} "
                                            "files and folders; it is too large to copy")
                        if depth + 1 > self.MAX_DEPTH:
                            raise ToolError(f"the workspace is nested deeper than "
                                            f"{self.MAX_DEPTH} levels; it is too deep to copy")
                        target = os.path.join(dst, entry.name)
                        if entry.is_symlink():
                            os.symlink(os.readlink(entry.path), target)
                        elif entry.is_dir():
                            os.mkdir(target)
                            stack.append((entry.path, target, depth + 1))
                        elif entry.is_file():
                            size += entry.stat().st_size
                            if size > self.MAX_BYTES:
                                raise ToolError(f"the workspace holds more than "
                                                f"{self.MAX_BYTES} bytes; too large to copy")
                            shutil.copyfile(entry.path, target)
        except OSError as e:
            raise ToolError(f"the workspace could not be copied: {e.strerror}") from None

    def usage(self, under: Path | None = None) -> tuple[int, int]:
        """``(entries, depth)`` of the tree under ``under`` (default the root): how many
        files and folders, and the most path components below it."""
        entries = deepest = 0
        stack = [(str(under or self.root), 0)]
        while stack:
            path, depth = stack.pop()
            try:
                it = os.scandir(path)
            except OSError:
                continue
            with it:
                for entry in it:
                    entries += 1
                    deepest = max(deepest, depth + 1)
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, depth + 1))
        return entries, deepest

    def __deepcopy__(self, memo: dict[int, Any]) -> SandboxWorld:
        return self.fork()

    def __getstate__(self) -> dict[str, Any]:
        return {"files": self.snapshot()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(files=state["files"])  # type: ignore[misc]

    def snapshot(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for dirpath, _dirs, names in os.walk(self.root):
            for n in sorted(names):
                p = Path(dirpath) / n
                rel = str(p.relative_to(self.root))
                out[rel] = f"-> {os.readlink(p)}" if p.is_symlink() else p.read_text(errors="replace")
        return dict(sorted(out.items()))

    def fingerprint(self) -> str:
        blob = json.dumps(self.snapshot(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def close(self) -> None:
        self._finalizer()

    def resolve(self, path: str) -> Path:
        """Map an agent path to a real path inside the sandbox, or raise ToolError."""
        if not isinstance(path, str) or "\x00" in path:
            raise ToolError("invalid path")
        if path.startswith(("/", "\\", "~")) or (len(path) > 1 and path[1] == ":"):
            raise ToolError(f"'{path}' is absolute; use a path relative to the workspace root")
        try:
            real = Path(os.path.realpath(self.root / path))
        except (OSError, ValueError) as e:
            raise ToolError(f"invalid path '{path[:80]}': {e}") from None
        if real != self.root and self.root not in real.parents:
            raise ToolError(f"'{path}' points outside the workspace; access denied")
        if str(real).count(os.sep) - str(self.root).count(os.sep) > self.MAX_DEPTH:
            raise ToolError(f"'{path[:80]}' is nested too deeply; the workspace allows "
                            f"{self.MAX_DEPTH} levels")
        return real

    def rel(self, real: Path) -> str:
        return str(real.relative_to(self.root)) if real != self.root else "."
