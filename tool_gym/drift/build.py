"""The surface under construction: what every mutation kind edits, and the specs it derives."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from tool_gym.domain import Domain
from tool_gym.drift.adapters import RenameKeys, chain
from tool_gym.spec import ToolSpec
from tool_gym.surface import Surface, SurfaceTool

Mutation = dict[str, Any]

# Specs built here come from schemas that already passed check_schema; skipping the
# meta-schema check (about 1.3 ms a spec) keeps a drifted reset cheap. Tests check_schema
# every spec a mutation produces.


@dataclass
class DriftSpec(ToolSpec):
    """A ToolSpec produced by drift from a checked one: its schema is trusted."""

    def __post_init__(self) -> None:  # the schema derives from a checked one
        pass


def derive(spec: ToolSpec, **changes: Any) -> DriftSpec:
    """A DriftSpec copy of ``spec`` with some fields changed (schemas deep-copied)."""
    values = {"name": spec.name, "description": spec.description,
              "parameters": copy.deepcopy(spec.parameters),
              "returns": copy.deepcopy(spec.returns), "side_effects": spec.side_effects,
              "fn": None}
    values.update(changes)
    return DriftSpec(**values)




class SurfaceBuild:
    """One surface being drawn: the domain, the surface edited so far, the rng, the focus
    tools, and where each current parameter name came from (mutation kinds edit it)."""

    def __init__(self, domain: Domain, surface: Surface, rng: np.random.Generator,
                 focus: Sequence[str] = ()) -> None:
        self.domain = domain
        self.surface = surface
        self.rng = rng
        self.focus = set(focus)
        self.canonical = {t.name for t in domain.tools}
        # (backend tool, current param name) -> canonical param name
        self.origin: dict[tuple[str, str], str] = {
            (t.name, p): p for t in domain.tools for p in t.param_names}
        self.formatted: set[tuple[str, str]] = set()
        self.old_params: dict[str, set[str]] = {t.name: set(t.param_names) for t in domain.tools}
        # (backend tool, param) whose name an error quotes (a behaviour gate: "send it again
        # with confirm: true"): later renames leave it, so the error stays true
        self.pinned: set[tuple[str, str]] = set()

    # lookups
    def current(self, backend: str) -> tuple[str, SurfaceTool]:
        name = self.surface.surface_name(backend)
        if name is None:
            raise ValueError(f"backend tool '{backend}' has no current name")
        return name, self.surface.tools[name]

    def live(self) -> list[str]:
        """Backend tools that have a current callable name, in catalogue order."""
        out = []
        for t in self.surface.tools.values():
            if t.target and t.deprecated_for is None and t.error is None and t.target not in out:
                out.append(t.target)
        return out

    def taken(self) -> set[str]:
        return set(self.surface.tools) | self.canonical

    def choice(self, options: Sequence[Any]) -> Any:
        return options[int(self.rng.integers(len(options)))]

    # edits
    def put(self, old_name: str, new_name: str, tool: SurfaceTool) -> None:
        tools: dict[str, SurfaceTool] = {}
        for name, t in self.surface.tools.items():
            if name == old_name:
                tools[new_name] = tool
            else:
                if t.deprecated_for == old_name and new_name != old_name:
                    t = replace(t, deprecated_for=new_name)
                tools[name] = t
        self.surface.tools = tools

    def insert_after(self, anchor: str, name: str, tool: SurfaceTool) -> None:
        tools: dict[str, SurfaceTool] = {}
        for n, t in self.surface.tools.items():
            tools[n] = t
            if n == anchor:
                tools[name] = tool
        self.surface.tools = tools

    def rename_tool(self, backend: str, new: str) -> None:
        if new in self.taken():
            raise ValueError(f"tool name '{new}' is taken")
        name, st = self.current(backend)
        doc = None if st.doc is None else derive(st.doc, name=new)
        self.put(name, new, replace(st, spec=derive(st.spec, name=new), doc=doc))

    def map_params(self, backend: str, edit: Callable[[dict[str, Any]], dict[str, Any]],
                   fwd: Callable[[Any], Any], inv: Callable[[Any], Any],
                   doc_edit: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        """Change the parameters of a tool: ``fwd`` maps new arguments to the old ones."""
        name, st = self.current(backend)
        spec = derive(st.spec, parameters=edit(copy.deepcopy(st.spec.parameters)))
        doc = None
        if st.doc is not None:
            doc = derive(st.doc, parameters=(doc_edit or edit)(copy.deepcopy(st.doc.parameters)))
        self.put(name, name, replace(st, spec=spec, doc=doc, to_backend=chain(fwd, st.to_backend),
                                     to_surface=chain(st.to_surface, inv)))

    def rename_params(self, backend: str, mapping: dict[str, str]) -> None:
        if not mapping:
            return
        _, st = self.current(backend)
        props = st.spec.parameters.get("properties", {})
        for old in mapping:
            if old not in props:
                raise ValueError(f"{backend}: no parameter '{old}' (has {', '.join(props)})")
        final = [mapping.get(p, p) for p in props]
        if len(set(final)) != len(final):
            raise ValueError(f"{backend}: renaming {mapping} makes duplicate parameters")
        for old, new in mapping.items():
            if new != old and (new in self.old_params[backend] or new in props):
                raise ValueError(f"{backend}: parameter name '{new}' is taken")
        inverse = {v: k for k, v in mapping.items()}
        self.map_params(backend, lambda p: _rename_props(p, mapping), RenameKeys(inverse),
                        RenameKeys(mapping))
        for old, new in mapping.items():
            self.origin[(backend, new)] = self.origin.pop((backend, old), old)
            if (backend, old) in self.formatted:
                self.formatted.discard((backend, old))
                self.formatted.add((backend, new))

    def params_of(self, backend: str) -> list[str]:
        return self.current(backend)[1].spec.param_names

    def renamable(self, backend: str) -> list[str]:
        """The current parameters a rename may act on (all but the pinned ones)."""
        return [p for p in self.params_of(backend) if (backend, p) not in self.pinned]

    def targets(self, spec: Mutation, eligible: list[str]) -> list[str]:
        """Backend tools a mutation acts on: explicit ``tool``/``tools``, else drawn."""
        known = {t.name for t in self.domain.tools}
        if "tool" in spec or "tools" in spec:
            raw = spec.get("tools", spec.get("tool"))
            if raw == "all":
                return list(eligible)
            wanted = [raw] if isinstance(raw, str) else list(raw)
            for w in wanted:
                if w not in known:
                    raise ValueError(f"{self.domain.name}: no tool '{w}'; tools: "
                                     f"{', '.join(sorted(known))}")
            return [w for w in wanted if w in eligible]
        if not eligible:
            return []
        focused = [e for e in eligible if e in self.focus]
        eligible = focused or eligible
        count = min(int(spec.get("count", 1)), len(eligible))
        picks = self.rng.choice(len(eligible), size=count, replace=False)
        return [eligible[i] for i in sorted(int(i) for i in picks)]


def _rename_props(params: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    props = params.get("properties", {})
    params["properties"] = {mapping.get(k, k): v for k, v in props.items()}
    params["required"] = [mapping.get(r, r) for r in params.get("required", [])]
    return params


def free_name(candidates: Iterable[str], taken: set[str]) -> str | None:
    """The first candidate that is a valid name and not taken; None when none is."""
    for c in candidates:
        if c and c not in taken and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", c):
            return c
    return None



def taken_params(b: SurfaceBuild, backend: str) -> set[str]:
    """Every name a backend tool's parameters have or had: a new name avoids them all."""
    return set(b.old_params[backend]) | set(b.params_of(backend))
