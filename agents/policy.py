"""Policies: an LLM (batched over envs, exact token ids) and a scripted one for tests.

Both work with :func:`tool_gym.oracle.run_episode` (``begin(obs, info)`` then ``act(obs)``)
and with :func:`tool_gym.agents.evaluate.evaluate`; the LLM policy also has a batched
:meth:`LLMPolicy.rollout` that evaluation prefers.

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

from tool_gym.agents.rollout import (
    ChatFormat,
    Conversation,
    Episode,
    SamplingConfig,
    TurnGenerator,
    make_envs,
    model_stop_ids,
    rollout,
)

logger = logging.getLogger(__name__)

__all__ = ["LLMPolicy", "SamplingConfig", "ScriptedPolicy", "make_envs", "make_policy"]


class LLMPolicy:
    """A chat model acting in ToolMaster envs.

    Args:
        model, tokenizer: From :func:`tool_gym.agents.models.load_model` (or any causal LM).
        gen: :class:`SamplingConfig` (temperature, top-p, max new tokens, ...).
        obs_role: Chat role of observations (``"user"``).
    """

    def __init__(self, model: Any, tokenizer: Any, gen: SamplingConfig | None = None,
                 obs_role: str = "user") -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.gen = gen or SamplingConfig()
        self.format = ChatFormat(tokenizer, obs_role=obs_role, stop_ids=model_stop_ids(model))
        self._row: Conversation | None = None
        self._generator: TurnGenerator | None = None
        self._closed = True
        self._turns = 0

    def rollout(self, envs: Any, seeds: Sequence[int | None],
                options: dict[str, Any] | Sequence[dict[str, Any] | None] | None = None,
                max_turns: int | None = None, *, seed: int | None = None,
                progress: bool = False, stats: dict[str, Any] | None = None) -> list[Episode]:
        """Batched episodes, one per seed (see :func:`tool_gym.agents.rollout.rollout`).

        ``seed`` overrides the sampling seed of :attr:`gen` for this call.
        """
        gen = self.gen if seed is None else replace(self.gen, seed=seed)
        return rollout(self.model, self.tokenizer, envs, list(seeds), options, gen, max_turns,
                       progress=progress, chat_format=self.format, stats=stats)

    # -- one env at a time (run_episode, the CLI) --------------------------------------------

    def begin(self, observation: str, info: Mapping[str, Any]) -> None:
        """Start a conversation from the env's ``info["messages"]``."""
        self._row = Conversation(self.format.prompt_ids(info["messages"]))
        self._generator = TurnGenerator(self.model, self.format, self.gen)
        self._turns = 0
        self._closed = True

    def act(self, observation: str) -> str:
        """The next message. Call :meth:`begin` after each ``reset`` first."""
        if self._row is None or self._generator is None:
            raise RuntimeError("call begin(obs, info) after reset() before act()")
        if self._turns > 0:
            self._row.ids += self.format.observation_ids(observation, self._closed)
        self.model.eval()
        toks, _, closed = self._generator.generate([self._row])[0]
        self._row.ids += toks
        self._closed = closed
        self._turns += 1
        return self.tokenizer.decode(toks[:-1] if closed else toks, skip_special_tokens=True)


def make_policy(model: Any, tokenizer: Any, gen: SamplingConfig | None = None,
                **sampling: Any) -> LLMPolicy:
    """An :class:`LLMPolicy`; keyword arguments are :class:`SamplingConfig` fields."""
    if sampling:
        gen = replace(gen or SamplingConfig(), **sampling)
    return LLMPolicy(model, tokenizer, gen)


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
