"""Evaluation probes: hooks that change how an LLM policy plays, to measure what a student
would do otherwise.

A probe is not a way of sampling (:class:`~tool_gym.agents.generation.SamplingConfig`)
but an intervention an evaluation asks for, with results of its own (``eval-think40/``).
:class:`~tool_gym.agents.rollout.LLMPolicy` calls three hooks of each of its probes, in
order; all are optional (:class:`Probe` does nothing):

- :meth:`Probe.reset` before a play (e.g. to make a generator of its own);
- :meth:`Probe.processors` for every ``generate`` call of the play (the turn's messages
  and any resample): logits processors run after every other one, so they override them;
  a processor may mark rows (``marked``, the rows of this call) with its ``mark``, the
  :class:`~tool_gym.agents.rollout.Episode` counter that counts such messages;
- :meth:`Probe.revise` after a turn's messages are sampled and before they are sent: it
  may replace samples of the :class:`Turn`.

The two probes:

- :class:`ThoughtBudget` (budget forcing): once a message's ``<think>`` block holds
  ``tokens`` tokens, its closing ``</think>`` is forced, so a thought that loops cannot
  use up the whole message and leave no call. The recorded log-probs are the model's own,
  before the forcing; such messages count in ``Episode.forced_thoughts``.
- :class:`ResampleResends`: a message that sends the previous message's failed trial or
  call again verbatim (:func:`resends_failed_call`) is sampled again at ``temperature``,
  up to ``tries`` times; the first sample that does not resend it replaces it (else the
  message stays). Its log-probs are the resample's; ``Episode.resampled`` counts them.

Every episode counts its ``resends`` (as played) whatever the probes.

Example:
    >>> from tool_gym.agents.policy import make_policy
    >>> policy = make_policy(model, tokenizer, temperature=0,
    ...                      probes=[ThoughtBudget(40)])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tool_gym.agents.generation import Conversation, Sample, TurnGenerator

if TYPE_CHECKING:
    from tool_gym.agents.chat_format import ChatFormat
    from tool_gym.agents.rollout import Episode, LLMPolicy

__all__ = ["THINK_CLOSE", "THINK_OPEN", "Probe", "ResampleResends", "ThoughtBudget", "Turn",
           "eval_probes", "failed_action", "resends", "resends_failed_call", "thought_budget"]


@dataclass
class Turn:
    """One turn of a batch of episodes, sampled but not yet sent.

    Attributes:
        rows: Each episode's conversation (its ids end before the new message).
        episodes: The episodes, before the message is recorded.
        samples: The new messages; :meth:`Probe.revise` may replace them.
    """

    rows: list[Conversation]
    episodes: list[Episode]
    samples: list[Sample]


class Probe:
    """An evaluation probe: hooks the LLM policy calls (see the module docs).

    Attributes:
        name: What the probe adds to the names of result folders (``"think40"``).
    """

    name: str = ""

    def reset(self, policy: LLMPolicy) -> None:
        """A new play of ``policy`` begins (its generators are fresh)."""

    def processors(self, fmt: ChatFormat, start: int) -> list[Any]:
        """Logits processors for one ``generate`` call whose prompts end at column
        ``start`` (they see only the tokens from there on as this message)."""
        return []

    def revise(self, policy: LLMPolicy, turn: Turn) -> None:
        """The turn's messages are sampled: replace any of ``turn.samples``."""


class ThoughtBudget(Probe):
    """Forces ``</think>`` once a message's thought holds ``tokens`` tokens (module docs)."""

    def __init__(self, tokens: int) -> None:
        if tokens < 1:
            raise ValueError(f"max_thought_tokens (a ThoughtBudget's tokens) must be >= 1, "
                             f"got {tokens}")
        self.tokens = int(tokens)
        self.name = f"think{self.tokens}"

    def processors(self, fmt: ChatFormat, start: int) -> list[Any]:
        return [thought_budget(fmt.tokenizer, start, self.tokens, fmt.stop_ids)]


class ResampleResends(Probe):
    """Samples again a message that resends a failed trial or call (module docs).

    Args:
        tries: Most resamples of one message (>= 1).
        temperature: Temperature of the resamples (> 0).
    """

    def __init__(self, tries: int, temperature: float = 0.7) -> None:
        if tries < 1 or temperature <= 0:
            raise ValueError(f"resample_resends must be >= 1 and resample_temperature > 0, "
                             f"got {tries} and {temperature}")
        self.tries, self.temperature = int(tries), float(temperature)
        self.name = f"resample{self.tries}"
        self.generator: TurnGenerator | None = None

    def reset(self, policy: LLMPolicy) -> None:
        self.generator = policy.new_generator(temperature=self.temperature)

    def revise(self, policy: LLMPolicy, turn: Turn) -> None:
        tokenizer = policy.tokenizer
        failed = [failed_action(ep.actions[-1], ep.observations[-1]) if ep.actions else None
                  for ep in turn.episodes]
        todo = [i for i, s in enumerate(turn.samples) if resends(failed[i], s.text(tokenizer))]
        for _ in range(self.tries):
            if not todo:
                break
            left = []
            fresh = self.generator.generate([turn.rows[i] for i in todo])
            for i, sample in zip(todo, fresh, strict=True):
                if resends(failed[i], sample.text(tokenizer)):
                    left.append(i)
                else:
                    turn.samples[i] = replace(sample, marks=sample.marks | {"resampled"})
            todo = left


def eval_probes(max_thought_tokens: int | None = None, resample_resends: int = 0,
                resample_temperature: float = 0.7) -> list[Probe]:
    """The probes an evaluation's settings ask for (``None`` / ``0``: off), in the order
    their names join a result folder's (``eval-think40-resample2/``)."""
    probes: list[Probe] = []
    if max_thought_tokens is not None:
        probes.append(ThoughtBudget(max_thought_tokens))
    if resample_resends:
        probes.append(ResampleResends(resample_resends, resample_temperature))
    return probes


# -- resent calls -------------------------------------------------------------------------


def failed_action(previous: str, observation: str) -> tuple[str, str | None, dict] | None:
    """``previous``'s first trial or call (:func:`~tool_gym.protocol.first_action`) when
    the env rejected it (the first response in ``observation`` is an error), else None."""
    from tool_gym.protocol import first_action, parse_responses

    failed = first_action(previous)
    if failed is None:
        return None
    answers = parse_responses(observation)
    return failed if answers and not answers[0].ok else None


def resends(failed: tuple[str, str | None, dict] | None, message: str) -> bool:
    """Whether ``message``'s first trial or call has the same body, verbatim, as
    ``failed`` (from :func:`failed_action`; None: nothing failed)."""
    from tool_gym.protocol import first_action

    now = first_action(message) if failed is not None else None
    return now is not None and now[0] == failed[0]


def resends_failed_call(previous: str, observation: str, message: str) -> bool:
    """Whether ``message``'s first trial or call has the same body, verbatim, as
    ``previous``'s first trial or call, which the env rejected (the first response in
    ``observation`` is an error)."""
    return resends(failed_action(previous, observation), message)


# -- the thought budget's processor -------------------------------------------------------


THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def thought_budget(tokenizer: Any, start: int, budget: int, stop_ids: Sequence[int]) -> Any:
    """A processor that forces ``</think>`` once an open thought reaches ``budget`` tokens
    (the first thought of each message; a message rarely holds a second).

    It reads only the tokens generated in this call (columns ``start:``), decoded to text,
    so the tags count however the model happened to tokenise them; a closing tag the
    model has begun is left to finish. Its ``forced`` (also ``marked``) rows had their
    thought closed.
    """
    import torch
    from transformers import LogitsProcessor

    close = list(tokenizer(THINK_CLOSE, add_special_tokens=False)["input_ids"])
    stops = set(stop_ids)

    class CloseThought(LogitsProcessor):
        mark = "forced_thoughts"  # the Episode counter of messages it marks

        def __init__(self) -> None:
            self.rows: dict[int, list[int]] = {}  # row -> [open at, tag tokens forced]
            self.closed: set[int] = set()

        @property
        def forced(self) -> set[int]:
            """Rows whose thought was closed by force."""
            return {b for b, (_, k) in self.rows.items() if k > 0}

        marked = forced

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            new = input_ids[:, start:]
            for b in range(new.shape[0]):
                if b in self.closed:
                    continue
                state = self.rows.get(b)
                if state is not None and state[1] > 0:  # forcing: next token of the tag
                    if state[1] >= len(close):
                        self.closed.add(b)
                        continue
                    self._force(scores, b, close[state[1]])
                    state[1] += 1
                    continue
                ids = new[b].tolist()
                if stops.intersection(ids):  # the message has ended (padding follows)
                    self.closed.add(b)
                    continue
                text = tokenizer.decode(ids)
                at = text.find(THINK_OPEN)
                if at < 0:
                    continue
                if text.find(THINK_CLOSE, at) >= 0:
                    self.closed.add(b)
                    continue
                if state is None:  # thought tokens count from the end of the open tag
                    opened = next(k for k in range(1, len(ids) + 1)
                                  if THINK_OPEN in tokenizer.decode(ids[:k]))
                    state = self.rows[b] = [opened, 0]
                closing = any(text.endswith(THINK_CLOSE[:k]) for k in range(1, len(THINK_CLOSE)))
                if new.shape[1] - state[0] >= budget and not closing:
                    self._force(scores, b, close[0])
                    state[1] = 1
            return scores

        @staticmethod
        def _force(scores: Any, b: int, token: int) -> None:
            keep = scores[b, token].clone()
            scores[b] = -torch.inf
            scores[b, token] = keep if torch.isfinite(keep) else 0.0

    return CloseThought()
