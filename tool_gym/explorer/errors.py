"""Learning from error responses: unknown and deprecated names, schemas, enums, patterns,
types, time zones, sessions, required values and changed id forms, each as the env words
it (:mod:`tool_gym.protocol`, :mod:`tool_gym.drift`)."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from tool_gym.behaviour import zone_minutes
from tool_gym.explorer.knowledge import Belief, Candidate
from tool_gym.explorer.values import rewrite_rule


class ErrorLearning:
    """The explorer's methods that update its knowledge from one error response."""

    # State kept by :class:`~tool_gym.explorer.policy.ScriptedExplorer` (set in ``begin``).
    beliefs: dict[str, Belief]
    available: list[str]
    zones: dict[str, int]
    fixed: dict[str, dict[str, Any]]
    rewrites: list[tuple[str, str]]
    session: dict[str, Any] | None

    def _learn(self, c: Candidate, tool: str, error: str) -> bool:
        """Update knowledge from one error; True when it taught something."""
        b = self.beliefs[tool]
        m = re.match(r"unknown tool '(.*?)'\.(?: Did you mean: (.*?)\?)? Available tools: (.*)$",
                     error)
        if m:
            self._drop(c, b)
            self.available = [n.strip() for n in m.group(3).split(",") if n.strip()]
            for n in self.available:
                self._cand(n)
            return True
        m = re.match(r"'(.*?)' is deprecated; use '(.*?)' instead", error)
        if m:
            self._drop(c, b)
            succ = self._cand(m.group(2))
            if succ.params is None and c.params is not None:
                succ.params, succ.required = list(c.params), list(c.required or [])
            if c.name == tool:  # the old name itself names its successor
                b.name = succ.name
            return True
        if error in ("unknown tool", "deprecated"):  # terse: nothing to learn but a dead end
            self._drop(c, b)
            return False
        if c.name == tool and b.name is None:
            b.name = tool  # it exists and is not deprecated: an old name keeps its tool
        if error == "invalid arguments":  # terse
            return False
        m = re.search(r"needs a session token\. Call (\S+) first .*? as \"(\w+)\"$", error) or \
            re.search(r"session token .* is not valid\. Call (\S+) first .*? as \"(\w+)\"$", error)
        if m:
            return self._need_session(c.name, m.group(1), m.group(2))
        m = re.search(r"\(times in (UTC[^;)]*); they were (UTC[^;)]*)\)$", error)
        if m:
            try:
                shift = zone_minutes(m.group(1)) - zone_minutes(m.group(2))
            except ValueError:
                shift = 0
            learned = self.zones.get(c.name) != shift
            self.zones[c.name] = shift
            if learned:
                return True
        if re.search(r"\b(try|retry|send) the same call again\b|\bretry after\b", error, re.I) \
                and "with " not in error:
            return True  # transient: the same call again
        m = re.search(r"(?:again|call) with \"(\w+)\": (true|false|\d+|\"[^\"]*\")", error)
        if m:
            self.fixed.setdefault(c.name, {})[m.group(1)] = json.loads(m.group(2))
            return True
        m = re.search(r"id '([^']+)'.*?now look like (\S+)$", error)
        if m:
            learned = rewrite_rule(m.group(1), m.group(2).rstrip("."))
            if learned and learned not in self.rewrites:
                self.rewrites.append(learned)
                return True
        m = re.match(r"invalid arguments for \S+ (at '.*)$", error)
        if m:
            learned = False
            for part in re.split(r" \| (?=at ')", m.group(1)):  # one part per wrong value
                pm = re.match(r"at '([^']*)': (.*)$", part)
                if pm:
                    learned |= self._learn_schema(c, tool, pm.group(1), pm.group(2))
            return learned
        if "not available" in error or "no longer" in error:
            self._drop(c, b)
            return True
        # A domain error: the call passed validation. If the pairing of parameters was a
        # guess, the next pairing is worth a try.
        c.validated = True
        return self._next_pairing(c, tool)

    def _need_session(self, name: str, opener: str, param: str) -> bool:
        """A refusal that names the call to make first: open the session (once) and send
        its token with every call of ``name``."""
        s = self.session
        if s is None or s["opener"] != opener or s["param"] != param:
            s = self.session = {"opener": opener, "param": param, "token": None,
                                "names": set(), "sent": False}
        elif s["token"] is not None and self.fixed.get(name, {}).get(param) == s["token"]:
            self.session = {**s, "token": None, "sent": False}  # refused anyway: reopen
            s = self.session
        s["names"].add(name)
        if s["token"] is not None:
            self.fixed.setdefault(name, {})[param] = s["token"]
        return True

    def _drop(self, c: Candidate, b: Belief) -> None:
        c.rejected = True
        if b.name == c.name:
            b.name, b.verified = None, False

    def _learn_schema(self, c: Candidate, tool: str, path: str, msg: str) -> bool:
        m = re.match(r"unknown parameter '.*?'; parameters: (.*) \(required: (.*)\)$", msg)
        if m:
            learned = (c.params, c.required) != (_names(m.group(1)), _names(m.group(2)))
            c.params = _names(m.group(1))
            c.required = _names(m.group(2))
            return learned
        m = re.match(r"missing required parameter '(.*?)'(?: \((.*)\))?(?:; one of: (\[.*\]))?; "
                     r"parameters: (.*) \(required: (.*)\)$", msg)
        if m:
            name = m.group(1)
            if m.group(2):
                c.descs[name] = m.group(2)
            if m.group(3):
                try:
                    c.enums[name] = json.loads(m.group(3))
                except ValueError:
                    pass
            c.params = _names(m.group(4))
            c.required = _names(m.group(5))
            return True  # the value of a missing parameter is new each time
        m = re.search(r"Required parameters: (.*?)\.$", msg)
        if m:
            req = _names(m.group(1))
            learned = req != c.required
            c.required = req
            return learned
        m = re.search(r"Allowed parameters: (.*?)\.$", msg)
        if m:
            params = _names(m.group(1))
            learned = params != c.params
            c.params = params
            return learned
        expected = re.search(r"\(rule: \w+\)\. Expected: (.*)$", msg)
        if expected and path != "arguments":
            c.descs[path] = expected.group(1)
        m = re.search(r"is not one of (\[.*\]) \(rule: enum\)", msg)
        if m:
            try:
                values = list(ast.literal_eval(m.group(1)))
            except (ValueError, SyntaxError):
                return False
            learned = c.enums.get(path) != values
            c.enums[path] = values
            return learned or self._next_pairing(c, tool)
        m = re.search(r"does not match ('.*') \(rule: pattern\)\.(?: Expected: (.*))?$", msg)
        if m:
            try:
                pattern = (ast.literal_eval(m.group(1)), m.group(2) or "")
            except (ValueError, SyntaxError):
                return False
            learned = c.patterns.get(path) != pattern
            c.patterns[path] = pattern
            return learned or self._next_pairing(c, tool)
        m = re.search(r"is not of type '(\w+)'", msg)
        if m:
            learned = c.types.get(path) != m.group(1)
            c.types[path] = m.group(1)
            return learned or self._next_pairing(c, tool)
        return False

    def _next_pairing(self, c: Candidate, tool: str) -> bool:
        """After a repeated value error on a guessed pairing of parameters, try the next one."""
        if self._match(tool, c.name)[1]:
            c.perm[tool] = c.perm.get(tool, 0) + 1
            return True
        return False


def _names(text: str) -> list[str]:
    text = text.strip()
    if text in ("none", ""):
        return []
    return [n.strip() for n in text.split(",") if n.strip()]
