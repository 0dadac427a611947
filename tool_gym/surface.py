"""Tool surfaces: what the agent can call, and how each call maps onto the domain backend.

A domain's backend never changes. What the agent sees and calls is a :class:`Surface`:
for each callable name a :class:`SurfaceTool` holding the schema the backend-facing
validation uses (the true current API), the documentation the catalogue shows (which
may be stale or drifted), and adapters from surface arguments to backend arguments and
from backend results to surface results. Without drift the surface is the identity;
mutations (``tool_gym.drift``) build other surfaces from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tool_gym.spec import ToolSpec


def unchanged(value: Any) -> Any:
    """The adapter that changes nothing (a tool's surface is its backend's)."""
    return value


@dataclass
class SurfaceTool:
    """One callable name.

    Attributes:
        spec: The current true schema (arguments are validated against it).
        target: Name of the backend tool it runs, or None for a tool that only errors
            (a distractor or a deprecated name).
        doc: What the catalogue shows for it; None hides it from the catalogue.
        to_backend: Maps validated surface arguments to backend arguments; may raise ToolError.
        to_surface: The inverse of ``to_backend``; translates golden-plan arguments.
        from_backend: Maps the backend result to what the agent sees.
        from_error: Maps the text of a backend's error to what the agent sees.
        deprecated_for: When set, calling it answers that it is deprecated, naming this successor.
        error: When set, calling it (after validation) answers this error (distractors).
        handler: When set, the tool answers ``handler(arguments)`` itself, without a
            backend tool (a session opener: its state lives on the surface, never in the
            world); ``target`` is None and its calls are not backend results.
        needs: The name of a tool without arguments that must have answered earlier in the
            episode before this one works (a session to open first); the translated golden
            plan calls it once before the first call that needs it.
    """

    spec: ToolSpec
    target: str | None
    doc: ToolSpec | None
    to_backend: Callable[[dict[str, Any]], dict[str, Any]] = unchanged
    to_surface: Callable[[dict[str, Any]], dict[str, Any]] = unchanged
    from_backend: Callable[[Any], Any] = unchanged
    from_error: Callable[[str], str] = unchanged
    deprecated_for: str | None = None
    error: str | None = None
    handler: Callable[[dict[str, Any]], Any] | None = None
    needs: str | None = None


@dataclass
class Surface:
    """The callable tools of one episode plus how errors are worded.

    Attributes:
        tools: Callable name -> SurfaceTool, in catalogue order.
        terse_errors: When True, errors drop hints (closest names, allowed parameters).
        stale_doc: Optional catalogue to show instead of each tool's ``doc`` (stale docs).
        applied: Descriptions of the mutations that produced this surface (for analysis).
    """

    tools: dict[str, SurfaceTool]
    terse_errors: bool = False
    stale_doc: list[ToolSpec] | None = None
    applied: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def identity(cls, backend: Sequence[ToolSpec]) -> Surface:
        return cls({t.name: SurfaceTool(spec=t, target=t.name, doc=t) for t in backend})

    def catalogue(self) -> list[ToolSpec]:
        """The tool documentation the agent is shown."""
        if self.stale_doc is not None:
            return list(self.stale_doc)
        return [t.doc for t in self.tools.values() if t.doc is not None]

    def copy(self) -> Surface:
        return replace(self, tools=dict(self.tools), applied=list(self.applied),
                       stale_doc=None if self.stale_doc is None else list(self.stale_doc))

    def backend_name(self, name: str) -> str | None:
        tool = self.tools.get(name)
        return tool.target if tool else None

    def surface_name(self, backend_name: str) -> str | None:
        """The current callable name that runs ``backend_name`` (not deprecated, not a distractor)."""
        for name, t in self.tools.items():
            if t.target == backend_name and t.deprecated_for is None and t.error is None:
                return name
        return None
