"""Tool drift: seeded, composable, JSON-serialisable mutations of a domain's tool surface.

The backend of a domain never changes. A mutation changes what the agent sees and calls:
the names, parameters, value formats, responses and documentation of the tools, with
adapters that map the new surface back onto the unchanged backend (``to_backend``) and
canonical calls forward onto the new surface (``to_surface``, which the golden-plan teacher
uses, see :func:`tool_gym.oracle.translate_step`).

A mutation is a JSON object with a ``kind`` and optional targets and choices::

    {"kind": "rename_tool", "tool": "get_forecast", "style": "opaque"}
    {"kind": "rename_params", "tools": "all", "style": "synonym"}
    {"kind": "change_format"}                       # the rng picks a (tool, param, format)

Targets are *backend* (canonical) tool names, so mutations compose: a rename after a
rename still targets the same backend tool. A target or choice left out is drawn from the
rng (the env passes ``self.np_random``, so a seed fixes the mutations). Each applied
mutation is recorded *resolved*, every choice explicit, in ``Surface.applied`` (and
``info["mutations"]``); applying that list again, with any rng, rebuilds the same surface,
so mutations round-trip through JSON.

Kinds (see :data:`KINDS`; ``adversarial`` ones are left out of ``drift_level`` sampling
unless the level is ``"adversarial"``):

=====================  ==================================================================
``rename_tool``        synonym (``get_forecast`` -> ``fetch_outlook``) or opaque (``tool_3``)
``name_noise``         RoTBench noise on tool (and optionally parameter) names: ``typo``,
                       ``reversed``, ``misleading``
``rename_params``      synonym, opaque (ToolSandbox ``arg_0``) or case (``StartTime``)
``reorder_params``     new parameter order (harmless for keyword calls on its own; it
                       defeats position-based guessing when composed with opaque names)
``add_required_param`` a new required parameter with one accepted value (``api_version``)
``change_format``      date format, 12-hour time, enum case, units, currency case, cents
``wrap_response``      the result wrapped in an envelope (``{"data": ...}``)
``rename_fields``      response keys re-cased (``high_c`` -> ``HighC``)
``deprecate_tool``     the old name answers "deprecated; use X" and X runs the backend
``drift_docs``         catalogue text truncated, removed or misleading (backend unchanged)
``distractor_tools``   near-name tools that only answer errors
``terse_errors``       errors lose their hints (adversarial: see below)
``scramble``           ToolSandbox scramble: ``<domain>_<i>`` tool names, ``arg_<i>``
                       parameters, types removed from the docs
=====================  ==================================================================

``terse_errors`` is marked adversarial: on its own it changes no call, but composed with a
rename under stale docs it removes the only signal there is (an unknown tool no longer
lists the available names, a schema error no longer names the parameters), so no agent can
recover except by blind guessing.

Guarantees every kind keeps (tests check them): a canonical tool name is never given to
another backend tool, and a tool's old parameter name never names a different parameter,
so a call written from old docs either runs the right backend with the right meaning or is
refused before the backend runs. Error observations say what is expected (the parameters
of the tool, the required value, the date format) unless ``terse_errors`` is active.
"""


from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import numpy as np

from tool_gym.domain import Domain
from tool_gym.drift.adapters import (
    DATE_FORMATS,
    DATE_PATTERN,
    FIELD_STYLES,
    TIME_FORMATS,
    TIME_PATTERN,
    WRAP_STYLES,
    AddKey,
    CaseValue,
    Chain,
    ConvertKey,
    DateFormat,
    DropKey,
    MapValue,
    RecaseFields,
    RenameKeys,
    Scale,
    TimeFormat,
    Wrap,
    chain,
    recase,
)
from tool_gym.drift.build import (
    DriftSpec,
    Mutation,
    SurfaceBuild,
    derive,
    free_name,
    taken_params,
)
from tool_gym.drift.kinds import DOC_STYLES, KINDS, Kind, format_targets
from tool_gym.drift.vocabulary import (
    ADDED_PARAMS,
    DISTRACTOR_ERRORS,
    MISLEADING_VERBS,
    SYNONYMS,
)
from tool_gym.surface import Surface
from tool_gym.units import UNIT_WORDS, UNITS

__all__ = [
    "ADDED_PARAMS", "DATE_FORMATS", "DATE_PATTERN", "DISTRACTOR_ERRORS", "DOC_STYLES",
    "DRIFT_LEVELS", "FIELD_STYLES", "KINDS", "MISLEADING_VERBS", "SYNONYMS", "TIME_FORMATS",
    "TIME_PATTERN", "UNITS", "UNIT_WORDS", "WRAP_STYLES", "AddKey", "CaseValue", "Chain",
    "ConvertKey", "DateFormat", "DriftSpec", "DropKey", "Kind", "MapValue", "Mutation",
    "RecaseFields", "RenameKeys", "Scale", "SurfaceBuild", "TimeFormat", "Wrap",
    "apply_mutations", "build_surface", "chain", "check_config", "derive", "format_targets",
    "free_name", "kind_classes", "mutation_kinds", "recase", "sample_mutations",
    "taken_params",
]

log = logging.getLogger(__name__)

# "mixed" draws like "heavy" from every non-adversarial kind, behaviour kinds included; the
# older levels never draw behaviour kinds, so what they draw for a seed is unchanged.
DRIFT_LEVELS = ("light", "heavy", "adversarial", "mixed")


def mutation_kinds(adversarial: bool = True, behaviour: bool = True) -> list[str]:
    """Names of the mutation kinds, optionally without the adversarial or behaviour ones."""
    return [k for k, v in KINDS.items() if (adversarial or not v.adversarial)
            and (behaviour or v.drift_class != "behaviour")]


def check_config(mutations: Sequence[Mutation] | None, drift_level: str | None) -> None:
    """Raise ValueError for an unknown drift level or malformed mutations (before any reset)."""
    if drift_level is not None and drift_level not in DRIFT_LEVELS:
        raise ValueError(f"drift_level must be one of {DRIFT_LEVELS} or None, got {drift_level!r}")
    if mutations is None:
        return
    if isinstance(mutations, (str, dict)) or not isinstance(mutations, Sequence):
        raise ValueError("mutations must be a list of JSON objects")
    for m in mutations:
        if not isinstance(m, dict) or "kind" not in m:
            raise ValueError(f"each mutation must be a JSON object with a 'kind', got {m!r}")
        if m["kind"] not in KINDS:
            raise ValueError(f"unknown mutation kind {m['kind']!r}; kinds: {', '.join(KINDS)}")
        try:
            json.dumps(m)
        except (TypeError, ValueError) as e:
            raise ValueError(f"mutation {m!r} is not JSON-serialisable: {e}") from None


def sample_mutations(rng: np.random.Generator, level: str) -> list[Mutation]:
    """A random composition of (unresolved) mutations for a drift level."""
    if level not in DRIFT_LEVELS:
        raise ValueError(f"drift_level must be one of {DRIFT_LEVELS}, got {level!r}")
    kinds = mutation_kinds(adversarial=level == "adversarial", behaviour=level == "mixed")
    lo, hi = (1, 2) if level == "light" else (3, 5)
    n = int(rng.integers(lo, hi + 1))
    picks = rng.choice(len(kinds), size=min(n, len(kinds)), replace=False)
    out = []
    for i in picks:
        spec: Mutation = {"kind": kinds[int(i)]}
        if level != "light" and kinds[int(i)] not in ("terse_errors", "scramble"):
            spec["count"] = int(rng.integers(1, 3))
        out.append(spec)
    return out


def build_surface(domain: Domain, surface: Surface, rng: np.random.Generator, *,
                  mutations: Sequence[Mutation] | None = None, drift_level: str | None = None,
                  stale_docs: bool = False, focus: Sequence[str] = ()) -> Surface:
    """The drifted surface of one episode (called by ``ToolEnv.make_surface``).

    Args:
        domain: The domain whose backend stays unchanged.
        surface: The starting surface (the identity surface of the domain).
        rng: The env's ``np_random``: every open choice is drawn from it.
        mutations: JSON mutations applied in order. When given, ``drift_level`` is ignored.
        drift_level: ``"light"`` (1-2 kinds), ``"heavy"`` (3-5 kinds) or ``"adversarial"``
            (3-5 kinds, adversarial ones included) or ``"mixed"`` (3-5 kinds, behaviour
            ones included): a fresh random composition each call.
        stale_docs: Show the catalogue from before the mutations.
        focus: Backend tools that drawn targets come from whenever a mutation kind can
            act on one of them (``ToolEnv(drift_focus="plan")`` passes the tools of the
            task's golden plan, so drift always meets the tools the task needs).

    Returns:
        The new surface; ``applied`` holds the resolved mutations (JSON).
    """
    check_config(mutations, drift_level)
    if mutations is not None:
        specs = [dict(m) for m in mutations]
    elif drift_level is not None:
        specs = sample_mutations(rng, drift_level)
    else:
        specs = []
    before = surface.catalogue()
    b = SurfaceBuild(domain, surface.copy(), rng, focus)
    applied = list(surface.applied)
    for spec in specs:
        resolved = KINDS[spec["kind"]].apply(b, spec)
        if resolved is not None:
            applied.append(resolved)
        else:
            log.debug("%s: mutation %s had nothing to act on", domain.name, spec)
    out = b.surface
    out.applied = applied
    if stale_docs:
        out.stale_doc = list(before)
    return out


def apply_mutations(domain: Domain, mutations: Sequence[Mutation], seed: int = 0,
                    stale_docs: bool = False) -> Surface:
    """Convenience: the identity surface of ``domain`` with ``mutations`` applied."""
    return build_surface(domain, Surface.identity(domain.tools), np.random.default_rng(seed),
                         mutations=mutations, stale_docs=stale_docs)


def kind_classes() -> dict[str, str]:
    """Every mutation kind with its class: interface, observation or behaviour."""
    return {k: v.drift_class for k, v in KINDS.items()}


import tool_gym.behaviour  # noqa: E402,F401  (registers the behaviour kinds into KINDS)
