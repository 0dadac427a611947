"""Adapting the old arguments to a current tool: pairing old parameters with current ones
(similarity, units, descriptions, position, then the other pairings in turn), and
converting values into the units, enums, patterns and types the current schema asks for."""

from __future__ import annotations

import itertools
import re
from typing import Any

from tool_gym.behaviour import TIME_VALUE, shift_time
from tool_gym.explorer.intent import Intent, RefError, bind
from tool_gym.explorer.knowledge import Belief, Candidate
from tool_gym.explorer.names import similarity, tokens
from tool_gym.explorer.values import convert_unit, fix_value, types_compatible, unit_in
from tool_gym.spec import ToolSpec
from tool_gym.task import format_value
from tool_gym.units import UNIT_WORDS

_ADDED_HINT = re.compile(r"must be", re.I)


class ArgumentGuessing:
    """The explorer's methods that turn an old-API call into a call of a current name."""

    # State kept by :class:`~tool_gym.explorer.policy.ScriptedExplorer` (set in ``begin``).
    intent: Intent
    old: dict[str, ToolSpec]
    beliefs: dict[str, Belief]
    cands: dict[str, Candidate]
    results: list[Any]
    zones: dict[str, int]
    fixed: dict[str, dict[str, Any]]
    rewrites: list[tuple[str, str]]

    def _added(self, c: Candidate, p: str) -> bool:
        """A parameter the old API did not have: one accepted value, described as required."""
        vals = c.enums.get(p)
        return vals is not None and len(vals) == 1 and (
            bool(_ADDED_HINT.search(c.descs.get(p, ""))) or p not in (c.params or []))

    def _match(self, tool: str, name: str) -> tuple[dict[str, str], bool]:
        """Old parameter -> current parameter, and whether any pairing was a guess."""
        c = self.cands.get(name)
        old = self.old[tool]
        if c is None or c.known_params is None:
            return {p: p for p in old.param_names}, False
        new = [p for p in c.known_params if not self._added(c, p)]
        old_props = old.parameters.get("properties", {})
        pairs = []
        for p in old.param_names:
            for q in new:
                s = similarity(p, q)
                pu, qu = unit_in(p, True), unit_in(q, True)
                if pu and qu and pu != qu:
                    base_p = [t for t in tokens(p) if t not in UNIT_WORDS]
                    base_q = [t for t in tokens(q) if t not in UNIT_WORDS]
                    if base_p and base_p == base_q:
                        s = max(s, 0.9)
                od, nd = old_props.get(p, {}).get("description"), c.descs.get(q)
                if od and nd and od == nd:
                    s = max(s, 0.9)
                pairs.append((s, p, q))
        mapping: dict[str, str] = {}
        used: set[str] = set()
        for s, p, q in sorted(pairs, key=lambda x: -x[0]):
            if s < 0.72 or p in mapping or q in used:
                continue
            mapping[p] = q
            used.add(q)
        left_old = [p for p in old.param_names if p not in mapping]
        left_new = [q for q in new if q not in used]
        guessed = False
        if left_old and left_new:
            if len(left_old) == 1 and len(left_new) == 1:
                mapping[left_old[0]] = left_new[0]
            else:
                # Position first (renames keep the order), then the other pairings in turn,
                # skipping those whose known types clash.
                k = min(len(left_old), len(left_new))
                first = tuple(left_new[:k])
                opaque = all(re.fullmatch(r"[a-z]*_?\d+", q) for q in left_new)
                if opaque and c.params is not None and len(c.params) == len(old.param_names):
                    first = tuple(c.params[old.param_names.index(p)] for p in left_old[:k])
                options = [first]
                if len(left_new) <= 4:
                    options += [o for o in itertools.permutations(left_new, k) if o != first]
                fits = [o for o in options if all(
                    self._compatible(old_props.get(p, {}), c, q)
                    for p, q in zip(left_old, o, strict=False))] or options
                for p, q in zip(left_old, fits[c.perm.get(tool, 0) % len(fits)], strict=False):
                    mapping[p] = q
                guessed = len(left_old) > 1 and len(left_new) > 1
        return mapping, guessed

    @staticmethod
    def _compatible(old_schema: dict[str, Any], c: Candidate, q: str) -> bool:
        """Could old parameter (schema) sit in current parameter ``q``, as far as is known?"""
        if not types_compatible(old_schema.get("type"), c.types.get(q)):
            return False
        new_enum = c.enums.get(q)
        if new_enum is not None:
            old_enum = {str(v).lower() for v in old_schema.get("enum", [])}
            return bool(old_enum & {str(v).lower() for v in new_enum})
        return True

    def _risky(self, name: str, tool: str) -> bool:
        """Should this call be tried first? True when its form rests on a guess."""
        b = self.beliefs[tool]
        if b.verified:
            return False
        if self._times_unchecked(name, tool):
            return True
        c = self.cands.get(name)
        if c is None:
            return False
        if c.known_params is None:
            return name != tool
        return self._match(tool, name)[1]

    def _times_unchecked(self, name: str, tool: str) -> bool:
        """True when the current step passes a time and ``name`` has not yet answered once:
        the zone its times mean is only known from a response, so a trial goes first."""
        if name in self.zones or len(self.results) >= len(self.intent.plan):
            return False
        step = self.intent.plan[len(self.results)]
        if step.tool != tool:
            return False
        try:
            args = bind(step.arguments, self.results, literal=False)
        except (RefError, KeyError, TypeError):
            return False
        return any(isinstance(v, str) and TIME_VALUE.match(v) for v in args.values())

    def _adapt(self, name: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        # Defaults drift too: an omitted choice is sent as its old documented default.
        old = self.old[tool].parameters.get("properties", {}) if tool in self.old else {}
        args = {**{p: s["default"] for p, s in old.items()
                   if p not in args and "default" in s and "enum" in s}, **args}
        out = self._adapt_names(name, tool, args)
        out = {k: shift_time(self._rewrite(v), self.zones.get(name, 0)) for k, v in out.items()}
        return out | self.fixed.get(name, {})

    def _rewrite(self, value: Any) -> Any:
        """A value in a form the env said changed (``TK-2321`` -> ``2321-TK``), rewritten."""
        if not isinstance(value, str):
            return value
        for regex, template in self.rewrites:
            m = re.fullmatch(regex, value)
            if m:
                return template.format(*m.groups())
        return value

    def _adapt_names(self, name: str, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        c = self.cands.get(name)
        if c is None or c.known_params is None:
            return dict(args)
        mapping, _ = self._match(tool, name)
        old_props = self.old[tool].parameters.get("properties", {})
        out: dict[str, Any] = {}
        for p, v in args.items():
            q = mapping.get(p)
            if q is None:
                if c.params is None:
                    out[p] = v
                continue
            out[q] = self._convert(v, p, q, c, old_props.get(p, {}))
        for r in c.known_params:
            if r in out:
                continue
            if r in c.enums and len(c.enums[r]) == 1:
                out[r] = c.enums[r][0]
            elif c.required is not None and r in c.required:
                out[r] = c.enums[r][0] if c.enums.get(r) else ""
        return out

    def _convert(self, v: Any, p: str, q: str, c: Candidate, old_schema: dict[str, Any]) -> Any:
        src = unit_in(p, True) or unit_in(old_schema.get("description", ""))
        dst = unit_in(q, True) or unit_in(c.descs.get(q, ""))
        if dst == "cents" and src is None:
            src = "units"  # an amount in whole units now asked for in cents
        if src and dst and src != dst:
            v = convert_unit(v, src, dst, c.types.get(q) == "integer"
                              or (isinstance(v, int) and dst in ("s", "ms", "cents")))
        if q in c.enums and v not in c.enums[q]:
            for e in c.enums[q]:
                if isinstance(e, str) and isinstance(v, str) and e.lower() == v.lower():
                    v = e
                    break
        if q in c.patterns and isinstance(v, (str, int, float)):
            regex, desc = c.patterns[q]
            try:
                ok = isinstance(v, str) and re.search(regex, v)
            except re.error:
                ok = True
            if not ok:
                v = fix_value(v, regex, desc)
        t = c.types.get(q)
        if t == "integer" and isinstance(v, str) and re.fullmatch(r"-?\d+", v.strip()):
            v = int(v)
        elif t == "number" and isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                pass
        elif t == "string" and isinstance(v, (int, float)) and not isinstance(v, bool):
            v = format_value(v)
        return v
