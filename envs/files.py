"""Files: a real sandboxed workspace directory (configs, notes, invoices, logs, data).

Every path the agent gives goes through ``SandboxWorld.resolve``, which refuses absolute
paths, ``..`` that climbs out and symlinks that point outside the workspace.
"""

from __future__ import annotations

import configparser
import csv
import fnmatch
import json
import os
import shutil
from pathlib import Path
from typing import Literal

import numpy as np

from tool_gym import (
    Domain,
    Ref,
    SandboxWorld,
    Step,
    Task,
    ToolError,
    answer_is,
    answer_mentions,
    tool,
    world_has,
)

MAX_READ = 1200
MAX_WRITE = 5000
MAX_MATCHES = 20
MAX_CHARS = 1200  # cap on a result's JSON size
ADJ = ["Amber", "Cobalt", "Silent", "Scarlet", "Iron", "Quiet", "Golden", "Polar", "Swift",
       "Hollow", "Bright", "Stone"]
ANIMALS = ["Heron", "Falcon", "Otter", "Lynx", "Badger", "Marten", "Osprey", "Bison", "Gecko",
           "Raven", "Ibex", "Puffin"]
CUSTOMERS = ["Nordwind GmbH", "Blue Lake Foods", "Harbor Logistics", "Pinecrest Clinic",
             "Solano Studios", "Kestrel Books", "Meadow Farms", "Atlas Printing"]
ITEMS = ["bolts", "washers", "hinges", "brackets", "cables", "switches", "fuses", "clamps",
         "gaskets", "rivets"]
PEOPLE = ["Dana", "Ravi", "Ines", "Tomas", "Yuki", "Kofi", "Mila", "Sven"]
TOPICS = ["budget review", "server migration", "client demo", "hiring plan", "release notes",
          "security audit"]
DECISIONS = ["Ship version {v} on {d}", "Freeze the scope of version {v} until {d}",
             "Hire two contractors before {d}", "Move the launch of version {v} to {d}"]
SERVICES = ["billing", "gateway", "scheduler", "search", "auth", "mailer"]
WAREHOUSES = ["Lisbon", "Tallinn", "Porto", "Lyon", "Gdansk", "Bergen", "Malmo", "Ghent"]
LEVELS = ["INFO", "INFO", "INFO", "WARN", "ERROR"]
CONFIG_KEYS = {"host": "server", "port": "server", "timeout_s": "server", "max_users": "server",
               "name": "database", "pool_size": "database"}


def _date(rng: np.random.Generator) -> str:
    return f"2026-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}"


def make_files(rng: np.random.Generator) -> dict[str, str]:
    """The workspace files: relative path -> text."""
    files = {"README.md": f"# Workspace\n\nShared files of the operations team.\nOwner: "
                          f"{PEOPLE[int(rng.integers(len(PEOPLE)))]}\n"}
    for svc in rng.choice(SERVICES, 2, replace=False):
        files[f"config/{svc}.ini"] = (
            f"[server]\nhost = {svc}{int(rng.integers(1, 10))}.internal\n"
            f"port = {int(rng.integers(1025, 9999))}\ntimeout_s = {int(rng.integers(5, 120))}\n"
            f"max_users = {int(rng.integers(10, 500))}\n\n[database]\n"
            f"name = {svc}_{ITEMS[int(rng.integers(len(ITEMS)))]}\n"
            f"pool_size = {int(rng.integers(2, 33))}\n")
    for city in rng.choice(WAREHOUSES, 2, replace=False):
        items = [ITEMS[int(i)] for i in rng.choice(len(ITEMS), int(rng.integers(4, 8)),
                                                   replace=False)]
        files[f"data/stock-{city.lower()}.csv"] = "item,quantity,unit_price\n" + "".join(
            f"{it},{int(rng.integers(1, 900))},{float(rng.uniform(0.1, 30)):.2f}\n"
            for it in items)
    for k, code in enumerate(rng.choice(len(ADJ) * len(ANIMALS), 2, replace=False)):
        codename = f"{ADJ[int(code) // len(ANIMALS)]} {ANIMALS[int(code) % len(ANIMALS)]}"
        decision = DECISIONS[int(rng.integers(len(DECISIONS)))].format(
            v=f"{int(rng.integers(1, 6))}.{int(rng.integers(0, 10))}", d=_date(rng))
        attendees = ", ".join(PEOPLE[int(i)] for i in rng.choice(len(PEOPLE), 3, replace=False))
        files[f"notes/meeting-{k + 1}.txt"] = (
            f"Meeting notes {_date(rng)}\nCodename: {codename}\nAttendees: {attendees}\n"
            f"Decision: {decision}\n")
    for k, c in enumerate(rng.choice(len(CUSTOMERS), 2, replace=False)):
        files[f"invoices/{'ab'[k]}-{int(rng.integers(100, 999))}.txt"] = (
            f"Invoice INV-{int(rng.integers(1000, 9999))}\nCustomer: {CUSTOMERS[int(c)]}\n"
            f"Amount: {float(rng.uniform(50, 5000)):.2f} EUR\nDue: {_date(rng)}\n")
    lines = []
    for request in rng.choice(9000, int(rng.integers(6, 14)), replace=False) + 1000:
        level = LEVELS[int(rng.integers(len(LEVELS)))]
        outcome = "failed" if level == "ERROR" else f"took {int(rng.integers(5, 900))} ms"
        lines.append(f"2026-05-{int(rng.integers(1, 8)):02d} {level} request {int(request)} "
                     f"{outcome}\n")
    files["logs/server.log"] = "".join(sorted(lines))
    files["todo.txt"] = "".join(f"- {TOPICS[int(i)]}\n"
                                for i in rng.choice(len(TOPICS), 3, replace=False))
    return files


def make_world(rng: np.random.Generator) -> SandboxWorld:
    return SandboxWorld(files=make_files(rng))


def _fields(text: str) -> dict[str, str]:
    """'Key: value' lines of a note or invoice."""
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def facts(world: SandboxWorld) -> dict:
    """What the task generator asks about, parsed back from the files on disk."""
    root = world.root
    configs = {}
    for p in sorted((root / "config").glob("*.ini")):
        parser = configparser.ConfigParser()
        parser.read_string(p.read_text())
        configs[p.stem] = {k: parser[sec][k] for k, sec in CONFIG_KEYS.items()}
    stock = {}
    for p in sorted((root / "data").glob("stock-*.csv")):
        stock[p.stem.split("-", 1)[1]] = list(csv.DictReader(p.read_text().splitlines()))
    meetings = []
    for p in sorted((root / "notes").glob("meeting-*.txt")):
        meetings.append({"path": world.rel(p), **_fields(p.read_text())})
    invoices = []
    for p in sorted((root / "invoices").glob("*.txt")):
        text = p.read_text()
        invoices.append({"path": world.rel(p), "number": text.split()[1], **_fields(text)})
    log = [line.split() for line in (root / "logs/server.log").read_text().splitlines()]
    return {"config": configs, "stock": stock, "meetings": meetings, "invoices": invoices,
            "log": log}


def _resolve(world: SandboxWorld, path: str) -> Path:
    """world.resolve, plus a clean ToolError for paths the OS rejects (too long...)."""
    real = world.resolve(path)
    try:
        os.lstat(real)
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as e:
        raise ToolError(f"invalid path '{path[:80]}': {e.strerror}") from None
    return real


def _kind(p: Path) -> str:
    return "link" if p.is_symlink() else "dir" if p.is_dir() else "file"


def _text(p: Path) -> str:
    try:
        return p.read_text(errors="replace")
    except OSError as e:
        raise ToolError(f"cannot read '{p.name}': {e.strerror}") from None


def _walk(world: SandboxWorld) -> list[tuple[str, Path]]:
    """(relative path, real path) of every regular file inside the workspace, sorted."""
    out = []
    for dirpath, dirs, names in os.walk(world.root):
        dirs.sort()
        for n in sorted(names):
            rel = world.rel(Path(dirpath) / n)
            try:
                real = world.resolve(rel)
            except ToolError:
                continue  # a link that leaves the workspace
            if real.is_file():
                out.append((rel, real))
    return out


@tool
def list_dir(world: SandboxWorld, path: str = ".") -> dict:
    """List a directory of the workspace: names, types (file or dir) and sizes in bytes.

    Args:
        path: Directory relative to the workspace root; "." for the root.
    """
    real = _resolve(world, path)
    if not real.exists():
        raise ToolError(f"'{path}' does not exist; list '.' to see the workspace")
    if not real.is_dir():
        raise ToolError(f"'{path}' is a file, not a directory; use read_file")
    entries = []
    for p in sorted(real.iterdir())[:50]:
        entry = {"name": p.name, "type": _kind(p)}
        if entry["type"] == "file":
            entry["size"] = p.stat().st_size
        entries.append(entry)
    return {"path": world.rel(real), "entries": entries}


@tool
def read_file(world: SandboxWorld, path: str) -> dict:
    """Read a text file of the workspace (the first 1200 characters).

    Args:
        path: File path relative to the workspace root, e.g. config/app.ini.
    """
    real = _resolve(world, path)
    if not real.exists():
        raise ToolError(f"'{path}' does not exist; use list_dir or search_files to find files")
    if real.is_dir():
        raise ToolError(f"'{path}' is a directory; use list_dir")
    text = _text(real)
    out = {"path": world.rel(real), "content": text[:MAX_READ]}
    if len(text) > MAX_READ:
        out["note"] = f"truncated: showing {MAX_READ} of {len(text)} characters"
    return out


@tool(side_effects=True)
def write_file(world: SandboxWorld, path: str, content: str) -> dict:
    """Create or overwrite a text file in the workspace; missing folders are created.

    Args:
        path: File path relative to the workspace root, e.g. notes/todo.txt.
        content: The full new text of the file.
    """
    if len(content) > MAX_WRITE:
        raise ToolError(f"content too long ({len(content)} characters; at most {MAX_WRITE})")
    real = _resolve(world, path)
    if real == world.root or real.is_dir():
        raise ToolError(f"'{path}' is a directory; give a file path")
    if real.parent.exists() and not real.parent.is_dir():
        raise ToolError(f"'{world.rel(real.parent)}' is a file, so it cannot hold '{real.name}'")
    new = 0  # entries this write creates: the file and its missing folders
    if not real.exists():
        new, parent = 1, real.parent
        while not parent.exists():
            new, parent = new + 1, parent.parent
        if world.created + new > world.MAX_ENTRIES:
            raise ToolError(f"the workspace is full ({world.MAX_ENTRIES} new files and "
                            "folders); overwrite or move files instead")
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        real.write_text(content)
        world.created += new
    except OSError as e:
        raise ToolError(f"cannot write '{path}': {e.strerror}") from None
    return {"status": "written", "path": world.rel(real), "size": real.stat().st_size}


@tool
def search_files(
    world: SandboxWorld, pattern: str, match: Literal["content", "name"] = "content"
) -> dict:
    """Find files by text they contain, or by name (substring or glob such as *.csv).

    Args:
        pattern: Text to look for (case-insensitive), or a file-name pattern when match is name.
        match: content searches inside files line by line; name matches file paths.
    """
    if not pattern.strip():
        raise ToolError("empty pattern; give text or a name pattern such as *.txt")
    needle = pattern.lower()
    matches: list[dict] = []
    total = 0
    for rel, real in _walk(world):
        if match == "name":
            low = rel.lower()
            globbed = any(ch in needle for ch in "*?[")
            if (fnmatch.fnmatch(low, needle) or fnmatch.fnmatch(real.name.lower(), needle)
                    if globbed else needle in low):
                total += 1
                if len(matches) < MAX_MATCHES:
                    matches.append({"path": rel, "size": real.stat().st_size})
            continue
        if real.stat().st_size > 200_000:
            continue
        for i, line in enumerate(_text(real).splitlines(), start=1):
            if needle in line.lower():
                total += 1
                if len(matches) < MAX_MATCHES:
                    matches.append({"path": rel, "line": i, "text": line[:120]})
    while len(matches) > 1 and len(json.dumps(matches)) > MAX_CHARS:
        matches.pop()
    out: dict = {"pattern": pattern[:80], "match": match, "matches": matches, "total": total}
    if total > len(matches):
        out["note"] = f"showing {len(matches)} of {total} matches; narrow the pattern"
    return out


@tool(side_effects=True)
def move_file(world: SandboxWorld, src: str, dst: str) -> dict:
    """Move or rename a file or folder; a destination ending in / (or an existing folder)
    receives it under its current name.

    Args:
        src: Existing path relative to the workspace root.
        dst: New path, or a folder such as archive/ to move it into.
    """
    source = _resolve(world, src)
    if not source.exists():
        raise ToolError(f"'{src}' does not exist; use list_dir or search_files to find it")
    if source == world.root:
        raise ToolError("the workspace root cannot be moved")
    target = _resolve(world, dst)
    if dst.endswith(("/", "\\")) or target == world.root or target.is_dir():
        target = _resolve(world, os.path.join(world.rel(target), source.name))
    if target.exists():
        raise ToolError(f"'{world.rel(target)}' already exists; choose another destination")
    if source in target.parents:
        raise ToolError("a folder cannot be moved inside itself")
    depth = len(target.relative_to(world.root).parts)
    if source.is_dir() and not source.is_symlink():
        depth += world.usage(source)[1]
    if depth > world.MAX_DEPTH:
        raise ToolError(f"moving '{src}' there would nest files {depth} levels deep; the "
                        f"workspace allows {world.MAX_DEPTH}")
    if target.parent.exists() and not target.parent.is_dir():
        raise ToolError(f"'{world.rel(target.parent)}' is a file, not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(target))
    except OSError as e:
        raise ToolError(f"cannot move '{src}': {e.strerror}") from None
    return {"status": "moved", "from": world.rel(source), "to": world.rel(target)}


@tool
def file_info(world: SandboxWorld, path: str) -> dict:
    """Type, size in bytes and line count of a file (or entry count of a folder).

    Args:
        path: Path relative to the workspace root.
    """
    real = _resolve(world, path)
    if not real.exists():
        raise ToolError(f"'{path}' does not exist; use list_dir or search_files to find it")
    if real.is_dir():
        return {"path": world.rel(real), "type": "dir", "entries": len(list(real.iterdir()))}
    text = _text(real)
    return {"path": world.rel(real), "type": "file", "size_bytes": real.stat().st_size,
            "lines": len(text.splitlines()), "extension": real.suffix}


TOOLS = [list_dir, read_file, write_file, search_files, move_file, file_info]



def _read(w: SandboxWorld, rel: str) -> str | None:
    p = w.root / rel
    return p.read_text(errors="replace") if p.is_file() and not p.is_symlink() else None


def make_task(rng: np.random.Generator, world: SandboxWorld, seed: int) -> Task:
    kind = int(rng.integers(8))
    f = facts(world)
    meeting = f["meetings"][int(rng.integers(len(f["meetings"])))]
    invoice = f["invoices"][int(rng.integers(len(f["invoices"])))]
    amount = float(invoice["Amount"].split()[0])
    if kind == 0:
        svc = list(f["config"])[int(rng.integers(len(f["config"])))]
        key = list(CONFIG_KEYS)[int(rng.integers(len(CONFIG_KEYS)))]
        value = f["config"][svc][key]
        check = answer_is(int(value)) if value.isdigit() else answer_mentions(value)
        return Task("", "files", f"What is the value of '{key}' in the [{CONFIG_KEYS[key]}] "
                    f"section of the {svc} service's config file, config/{svc}.ini?",
                    [Step("read_file", {"path": f"config/{svc}.ini"})], value, check)
    if kind == 1:
        return Task("", "files", f"Find the meeting notes that mention the codename "
                    f"{meeting['Codename']} and tell me the decision recorded in them.",
                    [Step("search_files", {"pattern": meeting["Codename"]}),
                     Step("read_file", {"path": Ref(0, "matches.0.path")})],
                    meeting["Decision"], answer_mentions(meeting["Decision"]))
    if kind == 2:
        return Task("", "files", f"Find the invoice {invoice['number']} in the workspace. What "
                    "amount in EUR does it state?",
                    [Step("search_files", {"pattern": invoice["number"]}),
                     Step("read_file", {"path": Ref(0, "matches.0.path")})],
                    f"{amount:.2f}", answer_is(amount))
    if kind == 3:
        folder = ["archive", "paid", "done", "old-invoices", "closed", "settled", "2026",
                  "processed"][int(rng.integers(8))]
        moved_to = f"{folder}/{Path(invoice['path']).name}"

        def archived(w: SandboxWorld) -> bool:
            return (_read(w, invoice["path"]) is None
                    and invoice["number"] in (_read(w, moved_to) or ""))

        return Task("", "files", f"Move the invoice file for customer {invoice['Customer']} into "
                    f"the folder {folder}/ (keep its file name), then say done.",
                    [Step("search_files", {"pattern": invoice["Customer"]}),
                     Step("move_file", {"src": Ref(0, "matches.0.path"), "dst": f"{folder}/"})],
                    "done", world_has(archived))
    if kind == 4:
        src = [f"config/{next(iter(f['config']))}.ini", "todo.txt", meeting["path"],
               invoice["path"]][int(rng.integers(4))]
        dst = f"{['backup', 'copies', 'bak'][int(rng.integers(3))]}/{Path(src).name}"
        original = (_read(world, src) or "").strip()

        def copied(w: SandboxWorld) -> bool:
            text = _read(w, dst)
            return text is not None and text.strip() == original

        return Task("", "files", f"Make a copy of {src} at {dst} with exactly the same content, "
                    "then say done.",
                    [Step("read_file", {"path": src}),
                     Step("write_file", {"path": dst, "content": Ref(0, "content")})],
                    "done", world_has(copied))
    if kind == 5:
        who = PEOPLE[int(rng.integers(len(PEOPLE)))]
        topic = TOPICS[int(rng.integers(len(TOPICS)))]
        text = (f"Call {who} about the {topic} at {int(rng.integers(8, 18))}:"
                f"{['00', '15', '30', '45'][int(rng.integers(4))]}")
        path = f"notes/reminder-{int(rng.integers(1, 100))}.txt"

        def written(w: SandboxWorld) -> bool:
            return (_read(w, path) or "").strip() == text

        return Task("", "files", f"Create the file {path} containing exactly this text: {text}\n"
                    "Then say done.", [Step("write_file", {"path": path, "content": text})],
                    "done", world_has(written))
    if kind == 6:
        city = list(f["stock"])[int(rng.integers(len(f["stock"])))]
        row = f["stock"][city][int(rng.integers(len(f["stock"][city])))]
        column, ask = [("quantity", f"how many {row['item']} it has in stock"),
                       ("unit_price", f"the unit price of {row['item']}")][int(rng.integers(2))]
        return Task("", "files", f"Find the stock CSV file of the {city.title()} warehouse and "
                    f"tell me {ask} (the {column} column).",
                    [Step("search_files", {"pattern": f"*{city}*.csv", "match": "name"}),
                     Step("read_file", {"path": Ref(0, "matches.0.path")})],
                    row[column], answer_is(float(row[column])))
    entry = f["log"][int(rng.integers(len(f["log"])))]
    day, level, request = entry[0], entry[1], entry[3]
    if level != "ERROR" and rng.integers(2):
        return Task("", "files", f"According to logs/server.log, how many milliseconds did "
                    f"request {request} take?",
                    [Step("search_files", {"pattern": f"request {request} "})],
                    entry[5], answer_is(int(entry[5])))
    n = sum(e[:2] == [day, level] for e in f["log"])
    return Task("", "files", f"According to logs/server.log, how many {level} entries were "
                f"logged on {day}?",
                [Step("search_files", {"pattern": f"{day} {level} "})],
                Ref(0, "total"), answer_is(n))


DOMAIN = Domain(
    name="files",
    title="Files",
    description="A real sandboxed workspace directory: list, read, search, write and move files.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="seen",
    hints={"list_dir.path": "path", "read_file.path": "path", "write_file.path": "path",
           "search_files.match": "enum", "move_file.src": "path", "move_file.dst": "path",
           "file_info.path": "path"},
    synonyms={"file": ["document"], "files": ["documents"], "path": ["location", "filepath"]},
)
