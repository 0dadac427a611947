"""The scripted explorer: what to send next (a call, trials of candidate names, pages, a
session opener) and what the responses taught, from the observation text alone."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tool_gym.explorer.arguments import ArgumentGuessing
from tool_gym.explorer.errors import ErrorLearning
from tool_gym.explorer.intent import (
    IntentFn,
    RefError,
    bind,
    canonical_intent,
    final_answer,
    follow,
    has_ref,
)
from tool_gym.explorer.knowledge import Belief, Candidate
from tool_gym.explorer.names import (
    description_similarity,
    similarity,
    stem_overlap,
    surface_words,
    word_set,
)
from tool_gym.explorer.responses import (
    match_responses,
    merge_pages,
    next_page,
    page_list_key,
    session_token,
    undo_drift,
    zone_shift,
)
from tool_gym.protocol import TURN_RE, Response, format_call
from tool_gym.spec import ToolSpec
from tool_gym.task import Ref, Step


class ScriptedExplorer(ArgumentGuessing, ErrorLearning):
    """Solves drifted tasks by trial and error from the observation text alone.

    Args:
        intent_fn: Gives the old-API intent from ``info`` (default :func:`canonical_intent`).
        max_probes: Most trials in one message.

    Use with :func:`tool_gym.oracle.run_episode`: ``begin(obs, info)`` then ``act(obs)``.
    """

    def __init__(self, intent_fn: IntentFn = canonical_intent, max_probes: int = 8) -> None:
        self.intent_fn = intent_fn
        self.max_probes = max_probes

    # -- episode start -------------------------------------------------------------------

    def begin(self, obs: str, info: dict[str, Any]) -> None:
        self.intent = self.intent_fn(info)
        self.old = {t.name: t for t in self.intent.catalogue}
        self.beliefs: dict[str, Belief] = {}
        for step in self.intent.plan:
            if step.tool not in self.beliefs:
                self.beliefs[step.tool] = Belief(self.old[step.tool])
        self.cands: dict[str, Candidate] = {}
        self.available: list[str] = []
        self.results: list[Any] = []
        self.sent: list[tuple[str, str, str, dict[str, Any]]] = []  # mode, name, tool, args
        self.weak: dict[str, set[str]] = {}  # tool -> names that answered but fit poorly
        self.turns_left = 1 << 30
        self.idle = 0
        shown = info.get("tools") or []
        self.shown_names: list[str] = []
        for entry in shown:
            fn = entry.get("function", entry)
            c = self._cand(fn["name"])
            c.description = fn.get("description", "")
            props = (fn.get("parameters") or {}).get("properties", {})
            c.params = list(props)
            c.required = list((fn.get("parameters") or {}).get("required", []))
            for p, s in props.items():
                if "enum" in s:
                    c.enums[p] = list(s["enum"])
                if "pattern" in s:
                    c.patterns[p] = (s["pattern"], s.get("description", ""))
                if "type" in s:
                    c.types[p] = s["type"]
                if "description" in s:
                    c.descs[p] = s["description"]
            self.shown_names.append(fn["name"])
            m = re.match(r"Deprecated: use (\S+) instead", c.description or "")
            if m:
                c.rejected = True
                self._cand(m.group(1).rstrip("."))
        # Docs that match the old docs exactly tell nothing: they may be stale.
        self.docs_fresh = [(c["function"]["name"] if "function" in c else c["name"])
                           for c in shown] != [t.name for t in self.intent.catalogue] or any(
            self._shown_differs(t) for t in self.intent.catalogue)

        self.fixed: dict[str, dict[str, Any]] = {}  # name -> arguments the env asked for
        self.rewrites: list[tuple[str, str]] = []  # (old-value regex, new template) for ids
        self.paging: dict[str, Any] | None = None  # the pages still to fetch of one result
        # a session the env said calls need: opener, parameter, token once read, the names
        # that need it, and whether the opener's call is out
        self.session: dict[str, Any] | None = None
        self.zones: dict[str, int] = {}  # name -> minutes its times moved (0: none stated)

    def _shown_differs(self, old: ToolSpec) -> bool:
        c = self.cands.get(old.name)
        return c is None or c.params != old.param_names

    def _cand(self, name: str) -> Candidate:
        if name not in self.cands:
            self.cands[name] = Candidate(name)
        return self.cands[name]

    # -- acting ----------------------------------------------------------------------------

    def act(self, observation: str) -> str:
        turns = TURN_RE.findall(observation)
        if turns:
            self.turns_left = int(turns[-1][1]) - int(turns[-1][0])
        progressed = self._read(observation)
        self.idle = 0 if progressed else self.idle + 1
        if self.paging is not None and not self.paging["sent"]:
            return self._fetch_pages()
        if self.session is not None and self.session["token"] is None \
                and not self.session["sent"]:
            return self._open_session()
        plan = self.intent.plan
        if len(self.results) >= len(plan):
            answer = final_answer(self.intent.answer, self.results, literal=False)
            return f"<answer>{answer}</answer>"
        if self.turns_left <= 1 or self.idle >= 6:
            return "<answer>I could not complete the task.</answer>"
        step = plan[len(self.results)]
        try:
            args = bind(step.arguments, self.results, literal=False)
        except (RefError, KeyError, TypeError):
            return "<answer>I could not complete the task.</answer>"
        message = self._compose(step.tool, args)
        if not message:
            return "<answer>I could not complete the task.</answer>"
        return message

    def _compose(self, tool: str, args: dict[str, Any]) -> str:
        b = self.beliefs[tool]
        out: list[tuple[str, str, str, dict[str, Any]]] = []
        if b.name is not None and not self._risky(b.name, tool):
            out.append(("call", b.name, tool, self._adapt(b.name, tool, args)))
        elif b.name is not None:
            out.append(("trial", b.name, tool, self._adapt(b.name, tool, args)))
        elif not b.tried_old and self._old_name_plausible(tool):
            b.tried_old = True
            self._cand(tool)
            mode = "trial" if self._risky(tool, tool) else "call"
            out.append((mode, tool, tool, self._adapt(tool, tool, args)))
        else:
            b.tried_old = True
            names = self._candidates(tool)
            weak = self._weak_hits(tool)
            if not names and weak:  # nothing better left: take the best weak one
                b.name = self._pick(tool, weak)
                return self._compose(tool, args)
            for name in names[: self.max_probes]:
                out.append(("trial", name, tool, self._adapt(name, tool, args)))
        if not out:
            return ""
        # Probe the old names of later tools while there is room (the trial phase).
        done = {tool}
        for step in self.intent.plan[len(self.results) + 1:]:
            if len(out) >= self.max_probes:
                break
            fb = self.beliefs[step.tool]
            if step.tool in done or fb.name is not None or fb.tried_old:
                continue
            done.add(step.tool)
            if not self._old_name_plausible(step.tool):
                continue
            fb.tried_old = True
            self._cand(step.tool)
            placeholder = self._placeholders(step)
            out.insert(0, ("trial", step.tool, step.tool,
                           self._adapt(step.tool, step.tool, placeholder)))
        self.sent = out
        return "".join(format_call(name, a, mode) for mode, name, _, a in out)

    def _old_name_plausible(self, tool: str) -> bool:
        if self.docs_fresh and tool not in self.shown_names:
            return False
        c = self.cands.get(tool)
        return c is None or not c.rejected

    def _placeholders(self, step: Step) -> dict[str, Any]:
        schema = self.old[step.tool].parameters.get("properties", {})
        out = {}
        for k, v in step.arguments.items():
            if has_ref(v):
                s = schema.get(k, {})
                if "enum" in s:
                    v = s["enum"][0]
                else:
                    v = {"integer": 1, "number": 1, "boolean": True, "array": []}.get(
                        s.get("type"), "x")
            out[k] = v
        return out

    # -- choosing names ------------------------------------------------------------------

    def _claimed(self, tool: str) -> set[str]:
        """Names that belong to other old tools (their old names stay theirs, or confirmed)."""
        names = {n for n in self.old if n != tool}
        names |= {b.name for t, b in self.beliefs.items() if t != tool and b.name}
        return names

    def _candidates(self, tool: str) -> list[str]:
        old = self.old[tool]
        pool = list(dict.fromkeys([*self.shown_names, *self.available, *self.cands]))
        claimed = self._claimed(tool)
        scored = []
        for name in pool:
            c = self.cands.get(name)
            if name in claimed or (c is not None and c.rejected) or name == tool:
                continue
            if c is not None and c.tries.get(tool, 0) >= 3:
                continue
            if name in self.weak.get(tool, ()):
                continue
            s = similarity(tool, name)
            if c is not None and c.description is not None and self.docs_fresh:
                s += 2 * description_similarity(c.description, old.description)
            if c is not None and c.known_params is not None:
                s += self._param_fit(tool, name)
            if c is not None and c.ok_results:
                s += 0.5
            scored.append((-s, pool.index(name), name))
        return [n for *_, n in sorted(scored)]

    def _param_fit(self, tool: str, name: str) -> float:
        c = self.cands[name]
        new = [p for p in (c.known_params or []) if not self._added(c, p)]
        old = self.old[tool].param_names
        if not old and not new:
            return 1.0
        mapping, _ = self._match(tool, name)
        matched = len(mapping)
        arity = 1.0 - abs(len(new) - len(old)) / max(len(new), len(old), 1)
        return matched / max(len(old), 1) * 0.5 + arity * 0.5

    # -- reading responses ---------------------------------------------------------------

    def _read(self, obs: str) -> bool:
        if not self.sent:
            return False
        sent = self.sent
        self.sent = []
        responses = match_responses(obs, [(m, n) for m, n, _, _ in sent])
        if self.paging is not None and self.paging["sent"]:
            return self._read_pages(responses)
        if self.session is not None and self.session["sent"] and self.session["token"] is None:
            return self._read_session(responses[0])
        progressed = False
        successes: dict[str, list[tuple[str, Any]]] = {}
        for (mode, name, tool, _args), resp in zip(sent, responses, strict=True):
            if resp is None:
                continue
            c = self._cand(name)
            c.tries[tool] = c.tries.get(tool, 0) + 1
            b = self.beliefs[tool]
            if resp.ok:
                c.validated = True
                c.ok_results.append(resp.value())
                self.zones.setdefault(name, zone_shift(resp.value()))
                is_current = len(self.results) < len(self.intent.plan) and \
                    self.intent.plan[len(self.results)].tool == tool
                if mode == "call" and is_current:
                    b.name, b.verified = name, True
                    value = resp.value()
                    if next_page(value) is not None:  # fetch every page before going on
                        self.paging = {"name": name, "tool": tool, "args": dict(_args),
                                       "first": value, "sent": False}
                        return True
                    self.results.append(undo_drift(value))
                    progressed = True
                elif is_current:
                    successes.setdefault(tool, []).append((name, resp.value()))
                    progressed = True
                elif name == tool and b.name is None:
                    b.name = name  # a later tool answered under its old name
                continue
            progressed |= self._learn(c, tool, resp.text)
        for tool, hits in successes.items():
            b = self.beliefs[tool]
            good = [h for h in hits if self._fits(tool, h)]
            if good:
                b.name, b.verified = self._pick(tool, good), True
                continue
            self.weak.setdefault(tool, set()).update(n for n, _ in hits)
            weak = self._weak_hits(tool)
            if weak and not self._candidates(tool):
                b.name, b.verified = self._pick(tool, weak), True
        return progressed

    def _fetch_pages(self) -> str:
        """Calls for the remaining pages of a paged result, all in one message."""
        p = self.paging
        assert p is not None
        first = p["first"]
        key = page_list_key(first)
        size = max(1, len(first[key])) if key else 1
        nxt = int(first["next_page"])
        total = first.get("total_items")
        last = -(-int(total) // size) if isinstance(total, int) else nxt
        p["sent"] = True
        # the parameter takes the name the response gives the page number
        self.sent = [("call", p["name"], p["tool"], {**p["args"], "page": n})
                     for n in range(nxt, last + 1)][: self.max_probes]
        return "".join(format_call(name, a, mode) for mode, name, _, a in self.sent)

    def _read_pages(self, responses: Sequence[Response | None]) -> bool:
        p, self.paging = self.paging, None
        assert p is not None
        pages = [r.value() for r in responses if r is not None and r.ok]
        self.results.append(undo_drift(merge_pages(p["first"], pages)))
        return True

    def _open_session(self) -> str:
        """The call that opens the session the env asked for (no arguments)."""
        s = self.session
        assert s is not None
        s["sent"] = True
        self.sent = [("call", s["opener"], "", {})]
        return format_call(s["opener"], {}, "call")

    def _read_session(self, resp: Response | None) -> bool:
        s = self.session
        assert s is not None
        token = session_token(resp.value(), s["param"]) if resp is not None and resp.ok else None
        if token is None:
            self.session = None  # no token came: the next refusal asks again
            return False
        s["token"] = token
        for name in s["names"]:
            self.fixed.setdefault(name, {})[s["param"]] = token
        return True

    def _weak_hits(self, tool: str) -> list[tuple[str, Any]]:
        return [(n, self.cands[n].ok_results[-1]) for n in sorted(self.weak.get(tool, ()))
                if self.cands[n].ok_results and not self.cands[n].rejected]

    def _lossy(self, tool: str, name: str) -> bool:
        """True when the candidate had no place for some argument the plan gives."""
        c = self.cands.get(name)
        if c is None or c.params is None:
            return False
        step_args = self.intent.plan[len(self.results)].arguments if \
            len(self.results) < len(self.intent.plan) else {}
        mapping, _ = self._match(tool, name)
        return any(p not in mapping for p in step_args)

    def _fits(self, tool: str, hit: tuple[str, Any]) -> bool:
        name, value = hit
        if self._lossy(tool, name):
            return False
        for path in self._paths_from(tool):
            try:
                follow(value, path)
            except (RefError, KeyError, TypeError, IndexError):
                return False
        return True

    def _pick(self, tool: str, hits: list[tuple[str, Any]]) -> str:
        """The answering candidate that best fits the intent (paths, arguments, meaning)."""
        if len(hits) == 1:
            return hits[0][0]
        paths = self._paths_from(tool)
        old = self.old[tool]
        words = word_set(f"{old.name} {old.description}")

        def score(hit: tuple[str, Any]) -> tuple[float, ...]:
            name, value = hit
            found = 0
            for path in paths:
                try:
                    follow(value, path)
                    found += 1
                except (RefError, KeyError, TypeError, IndexError):
                    pass
            seen = surface_words(value)
            overlap = stem_overlap(seen, words) / (len(seen) + 3)
            return (found, -self._lossy(tool, name), self._param_fit(tool, name), overlap)

        return max(hits, key=score)[0]

    def _paths_from(self, tool: str) -> list[str]:
        i = len(self.results)
        paths: list[str] = []

        def collect(v: Any) -> None:
            if isinstance(v, Ref) and v.step == i:
                paths.append(v.path)
            elif isinstance(v, dict):
                for x in v.values():
                    collect(x)
            elif isinstance(v, list):
                for x in v:
                    collect(x)

        for step in self.intent.plan[i + 1:]:
            collect(step.arguments)
        collect(self.intent.answer)
        return [p for p in paths if p]
