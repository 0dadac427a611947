"""Worlds: the state behind a domain's tools, each cheap to fork for trial calls."""

from __future__ import annotations

import copy
import hashlib
import json
import os
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
# Functions that could reach the file system or the process are never allowed.
_DENIED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}


class SQLiteWorld(World):
    """A real SQLite database in memory, queried by the agent through tools.

    Agent SQL runs under an authorizer: no ATTACH, no PRAGMA, no schema changes, no
    extension loading; read-only unless the tool asks for writes. Each statement has a
    wall-clock budget after which it is interrupted with a clear error.
    """

    def __init__(self, script: str = "", time_limit_s: float = 0.25) -> None:
        self.conn = sqlite3.connect(":memory:", check_same_thread=False)
        self.time_limit_s = time_limit_s
        if script:
            self.conn.executescript(script)
            self.conn.commit()

    def fork(self) -> SQLiteWorld:
        clone = type(self).__new__(type(self))  # subclasses keep their type and fields
        clone.__dict__.update(copy.deepcopy({k: v for k, v in self.__dict__.items()
                                             if k != "conn"}))
        clone.conn = sqlite3.connect(":memory:", check_same_thread=False)
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
        self.conn = sqlite3.connect(":memory:", check_same_thread=False)
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

        def authorize(action: int, arg1: Any, arg2: Any, db: Any, trigger: Any) -> int:
            if action == sqlite3.SQLITE_FUNCTION and str(arg2).lower() in _DENIED_FUNCTIONS:
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK if action in allowed else sqlite3.SQLITE_DENY

        deadline = time.monotonic() + self.time_limit_s
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
                raise ToolError(
                    f"query stopped after {self.time_limit_s:.2f} s; add a WHERE clause or LIMIT"
                ) from None
            if "not authorized" in msg or "prohibited" in msg:
                kind = "read-only SELECT statements" if not write else "SELECT/INSERT/UPDATE/DELETE"
                raise ToolError(f"statement not allowed: only {kind} on this database") from None
            raise ToolError(f"SQL error: {msg}") from None
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


def _mkdtemp() -> str:
    # Worlds are small and short-lived: a RAM-backed directory makes fork ~10x cheaper.
    shm = "/dev/shm"
    base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    return tempfile.mkdtemp(prefix="toolgym-sandbox-", dir=base)


class SandboxWorld(World):
    """A real directory on disk that file tools may touch, and nothing outside it.

    ``resolve`` refuses absolute paths, ``..`` that climbs out, and symlinks whose
    target lies outside the root. The directory is removed when the world is closed or
    garbage-collected.
    """

    def __init__(self, files: dict[str, str] | None = None, root: str | None = None) -> None:
        self.root = Path(root or _mkdtemp()).resolve()
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.root), True)
        for rel, text in (files or {}).items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def fork(self) -> SandboxWorld:
        clone_root = _mkdtemp()
        shutil.copytree(self.root, clone_root, symlinks=True, dirs_exist_ok=True)
        clone = type(self).__new__(type(self))  # subclasses keep their type and fields
        clone.__dict__.update(copy.deepcopy({k: v for k, v in self.__dict__.items()
                                             if k not in ("root", "_finalizer")}))
        SandboxWorld.__init__(clone, root=clone_root)
        return clone

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
        return real

    def rel(self, real: Path) -> str:
        return str(real.relative_to(self.root)) if real != self.root else "."
