"""No module imports another module's private names (``from tool_gym.x import _y``).

A name with a leading underscore is free to change inside its module; once another module
imports it, it is part of an interface nobody declared. Tests may import private helpers
to test them, so only the package and the benchmarks are read.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# source folder -> the package it is installed as (pyproject's package-dir)
PACKAGES = {"tool_gym": "tool_gym", "envs": "tool_gym.envs", "agents": "tool_gym.agents",
            "benchmarks": "benchmarks"}


def _module(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    parts = [PACKAGES[rel.parts[0]], *rel.with_suffix("").parts[1:]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_imports(root: Path = ROOT) -> list[str]:
    """``file:line: from MODULE import NAME`` for every private name imported from another
    module of this project."""
    found = []
    for folder in PACKAGES:
        for path in sorted((root / folder).rglob("*.py")):
            here = _module(path, root)
            package = here if path.name == "__init__.py" else here.rpartition(".")[0]
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.ImportFrom):
                    continue
                if node.level:  # relative: resolve against this module's package
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                ours = source.split(".")[0] in ("tool_gym", "benchmarks")
                for alias in node.names:
                    if ours and source != here and (
                            _private(alias.name) or any(_private(p) for p in source.split("."))):
                        found.append(f"{path.relative_to(root)}:{node.lineno}: "
                                     f"from {source} import {alias.name}")
    return found


def test_no_module_imports_a_private_name_of_another():
    assert private_imports() == []


def test_the_check_finds_private_imports_absolute_and_relative(tmp_path):
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "a.py").write_text(
        "from tool_gym.protocol import _tagged, parse_call\n"
        "from .b import _helper\n"
        "from . import b\n"
        "from tool_gym.agents.a import _mine\n")  # its own name: fine
    assert private_imports(tmp_path) == [
        "agents/a.py:1: from tool_gym.protocol import _tagged",
        "agents/a.py:2: from tool_gym.agents.b import _helper"]
