"""A scripted explorer that discovers a drifted tool API from the env's responses alone.

It proves that the env gives enough signal to find the *current* API after drift. What it
knows and what it does not:

- It knows the **intent** of the task as a canonical plan skeleton written against the
  *old* API: the old catalogue (names, parameters, descriptions) and the calls a user who
  read the old docs would make, with later arguments referring to earlier results, plus
  what to answer (a literal, or a path into a result). That is what the stale catalogue
  plus a doc-following plan give; :func:`canonical_intent` rebuilds it from the domain's
  unmutated tools and the task seed in ``info`` (never from the env's episode).
- It does **not** know the mutation. It never reads ``env.episode``, the task's checker,
  the surface or ``info["mutations"]``. Everything about the current API comes from the
  observation text: the catalogue as shown, and the answers to its trials and calls
  (unknown tool and the available names, "deprecated; use X", unknown or missing
  parameters, enum values, date patterns, distractor refusals, a refusal that names the
  call to make first, a time zone a response or an error states, successful responses).

Heuristics are generic: string similarity of names (typos, reversed names, re-casing),
elimination and position for renamed parameters, unit words in parameter names, regex
patterns and enum lists from errors for value formats, envelope unwrapping and
case-insensitive keys for responses. Probes run as ``<trial>`` (never changing the world);
a ``<call>`` is sent only when the form of the call is known or was verified by a trial.

:class:`DocReplayPolicy` is the baseline: it replays the doc-following plan with no trials
and no adaptation, reading results from the observation literally.

Modules, one concept each: :mod:`~tool_gym.explorer.intent` (the old-API plan and the paths
it follows through results), :mod:`~tool_gym.explorer.replay` (the baseline),
:mod:`~tool_gym.explorer.policy` (the explorer: what to send next, what came back),
:mod:`~tool_gym.explorer.arguments` (old arguments adapted to a current tool),
:mod:`~tool_gym.explorer.errors` (what an error response teaches),
:mod:`~tool_gym.explorer.responses` (responses matched to calls; behaviour drift undone),
:mod:`~tool_gym.explorer.knowledge` (what is known about a name and a tool),
:mod:`~tool_gym.explorer.names` and :mod:`~tool_gym.explorer.values` (similarity of names;
units and value forms).
"""

from __future__ import annotations

from tool_gym.explorer.intent import (
    Intent,
    IntentFn,
    RefError,
    bind,
    canonical_intent,
    follow,
)
from tool_gym.explorer.knowledge import Belief, Candidate
from tool_gym.explorer.names import norm, tokens
from tool_gym.explorer.policy import ScriptedExplorer
from tool_gym.explorer.replay import DocReplayPolicy
from tool_gym.explorer.responses import match_responses
from tool_gym.units import UNIT_WORDS, UNITS

__all__ = [
    "UNITS", "UNIT_WORDS", "Belief", "Candidate", "DocReplayPolicy", "Intent", "IntentFn",
    "RefError", "ScriptedExplorer", "bind", "canonical_intent", "follow",
    "match_responses", "norm", "tokens",
]
