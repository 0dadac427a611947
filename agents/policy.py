"""Policies: an LLM (batched over envs, exact token ids) and a scripted one for tests.

Both play in the one episode loop (:func:`tool_gym.episode.play`), so both work with
:func:`tool_gym.oracle.run_episode` and :func:`tool_gym.agents.evaluate.evaluate`: the
:class:`~tool_gym.agents.rollout.LLMPolicy` is a :class:`~tool_gym.episode.Policy`; the
:class:`ScriptedPolicy` is a scripted agent (``begin(obs, info)`` then ``act(obs)``),
which the loop plays through :class:`~tool_gym.episode.Agents`.

Example:
    >>> from tool_gym.agents.models import load_model
    >>> model, tokenizer = load_model("tiny")  # doctest: +SKIP
    >>> policy = make_policy(model, tokenizer, temperature=0.7)  # doctest: +SKIP
    >>> envs = make_envs("ToolMaster/Seen-v0", 8)  # doctest: +SKIP
    >>> episodes = policy.rollout(envs, seeds=range(8))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from tool_gym.agents.probes import Probe
from tool_gym.agents.rollout import LLMPolicy, SamplingConfig, make_envs

logger = logging.getLogger(__name__)

__all__ = ["LLMPolicy", "SamplingConfig", "ScriptedPolicy", "make_envs", "make_policy"]


def make_policy(model: Any, tokenizer: Any, gen: SamplingConfig | None = None, *,
                probes: Sequence[Probe] = (), **sampling: Any) -> LLMPolicy:
    """An :class:`LLMPolicy` with evaluation ``probes`` (:mod:`tool_gym.agents.probes`);
    other keyword arguments are :class:`SamplingConfig` fields."""
    if sampling:
        gen = replace(gen or SamplingConfig(), **sampling)
    return LLMPolicy(model, tokenizer, gen, probes=probes)


class ScriptedPolicy:
    """Fixed actions keyed on the conversation; no model. For tests and baselines.

    Args:
        script: Maps a key to the messages to send, in order. The first key found in the
            conversation so far (the first observation, which holds the rules, the tool
            catalogue and the user's query, then every observation) selects its list; the
            n-th message of the episode is its n-th entry. A plain list applies to every
            episode. A callable gets the conversation (list of observations so far) and
            returns the message.
        default: Sent when no key matches or the list is used up.

    Example:
        >>> p = ScriptedPolicy({"Paris": ["<answer>12</answer>"]}, default="<answer>?</answer>")
        >>> p.begin("... User: weather in Paris?", {})
        >>> p.act("... User: weather in Paris?")
        '<answer>12</answer>'
    """

    def __init__(self, script: Mapping[str, Sequence[str]] | Sequence[str]
                 | Callable[[list[str]], str] | None = None,
                 default: str = "<answer>I do not know</answer>") -> None:
        self.script = script
        self.default = default
        self.conversation: list[str] = []
        self.turn = 0

    def begin(self, observation: str, info: Mapping[str, Any] | None = None) -> None:
        self.conversation = [observation]
        self.turn = 0

    def act(self, observation: str) -> str:
        if not self.conversation:
            self.conversation = [observation]
        elif self.turn > 0:
            self.conversation.append(observation)
        n = self.turn
        self.turn += 1
        script = self.script
        if script is None:
            return self.default
        if callable(script):
            return script(list(self.conversation))
        if isinstance(script, Mapping):
            text = "\n".join(self.conversation)
            for key, actions in script.items():
                if key in text:
                    return actions[n] if n < len(actions) else self.default
            return self.default
        return script[n] if n < len(script) else self.default
