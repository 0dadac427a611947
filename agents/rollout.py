"""Batched multi-turn rollouts of an LLM in ToolMaster envs, with exact token ids.

:class:`LLMPolicy` is the LLM as a :class:`~tool_gym.episode.Policy`: the one episode
loop (:func:`tool_gym.episode.play`) asks it for the next message of every running
episode, and one ``model.generate`` call (:class:`~tool_gym.agents.generation.TurnGenerator`,
left padded, batched, with KV caches kept between turns) produces them all.
:func:`rollout` plays one episode per seed that way.

Token ids are never re-derived from text: the prompt and each observation are tokenised
once and wrapped by :class:`~tool_gym.agents.chat_format.ChatFormat` (the token contract
SFT and DAgger examples share), and the model's tokens are kept exactly as sampled, its
end-of-turn token included.

So ``prompt_ids + completion_ids`` of an :class:`Episode` is exactly the sequence the
model conditioned on, and what a trainer (TRL's GRPO ``rollout_func``) must score.
``env_mask`` is 1 on model tokens and 0 on env tokens; ``logprobs`` has one entry per
completion token: the sampling log-probability ``log_softmax(logits / temperature)`` of
the token the model produced (before top-k/top-p filtering, as TRL computes its own), and
``0.0`` on env tokens.

Evaluation probes (a thought budget, resampling resent calls: :mod:`tool_gym.agents.probes`)
are hooks the policy calls each turn, not sampling settings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from tool_gym.agents.chat_format import ChatFormat
from tool_gym.agents.generation import Conversation, SamplingConfig, TurnGenerator
from tool_gym.agents.probes import Probe, Turn, failed_action, resends, resends_failed_call
from tool_gym.agents.progress import bars_enabled
from tool_gym.episode import EpisodeRecord, as_env_list, play

logger = logging.getLogger(__name__)

__all__ = ["ChatFormat", "Conversation", "Episode", "LLMPolicy", "SamplingConfig",
           "as_env_list", "episodes_to_trl", "failed_action", "make_envs", "model_stop_ids",
           "resends_failed_call", "rollout"]


@dataclass
class Episode(EpisodeRecord):
    """One episode played by an LLM, ready for a trainer: an
    :class:`~tool_gym.episode.EpisodeRecord` with its exact token ids.

    Attributes:
        prompt_ids: Chat-templated system + user prompt, with the generation prompt.
        completion_ids: Model and env tokens in order, starting with the first model token
            and ending with the last one.
        env_mask: 1 on model tokens, 0 on env tokens (TRL's ``env_mask``).
        logprobs: Per completion token; the sampling log-probability on model tokens,
            0.0 on env tokens.
        cut_actions: Messages cut at ``max_new_tokens``.
        forced_thoughts: Messages whose thought was closed by the
            :class:`~tool_gym.agents.probes.ThoughtBudget` probe.
        resends: Messages that sent the previous message's failed trial or call again
            verbatim (:func:`~tool_gym.agents.probes.resends_failed_call`), as played.
        resampled: Such messages replaced by a resample (the
            :class:`~tool_gym.agents.probes.ResampleResends` probe).

    ``actions`` are the messages decoded without special tokens; ``stop_reason``
    ``"context"`` means the context could not fit another message.
    """

    prompt_ids: list[int] = field(default_factory=list)
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    cut_actions: int = 0
    forced_thoughts: int = 0
    resends: int = 0
    resampled: int = 0

    TRANSCRIPT: ClassVar[tuple[str, ...]] = (
        "task_id", "domain", "mutations", "trial_seed", "success", "turns", "trials",
        "calls", "reward", "cut_actions", "forced_thoughts", "resends", "resampled",
        "actions", "observations")

    @property
    def completion_mask(self) -> list[int]:
        """Alias of :attr:`env_mask` (1 on tokens the model generated)."""
        return self.env_mask

    @property
    def model_tokens(self) -> int:
        return sum(self.env_mask)

    @property
    def input_ids(self) -> list[int]:
        return self.prompt_ids + self.completion_ids


# -- envs ---------------------------------------------------------------------------------


def make_envs(env_id: str, n: int, **kwargs: Any) -> list[Any]:
    """``n`` independent envs from ``gym.make(env_id, **kwargs)``."""
    import gymnasium as gym

    import tool_gym  # noqa: F401  (registers the ids)

    return [gym.make(env_id, **kwargs) for _ in range(n)]


def model_stop_ids(model: Any) -> list[int]:
    """The model's end-of-turn token ids (its generation config's ``eos_token_id``)."""
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if eos is None:
        return []
    return [eos] if isinstance(eos, int) else list(eos)


# -- the LLM as a policy ------------------------------------------------------------------


class LLMPolicy:
    """A chat model acting in ToolMaster envs: a :class:`~tool_gym.episode.Policy`.

    Args:
        model, tokenizer: From :func:`tool_gym.agents.models.load_model` (or any causal LM).
        gen: :class:`SamplingConfig` (temperature, top-p, max new tokens, ...).
        obs_role: Chat role of observations (``"user"``).
        logits_processors: Extra ``transformers`` logits processors, run after sampling
            filters (recorded log-probs are before them).
        chat_format: A precomputed :class:`ChatFormat` (built from ``tokenizer`` otherwise).
        probes: Evaluation probes (:mod:`tool_gym.agents.probes`), whose hooks run in order.
    """

    record_type = Episode

    def __init__(self, model: Any, tokenizer: Any, gen: SamplingConfig | None = None,
                 obs_role: str = "user", *, logits_processors: Sequence[Any] = (),
                 chat_format: ChatFormat | None = None, probes: Sequence[Probe] = ()) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.gen = gen or SamplingConfig()
        self.format = chat_format or ChatFormat(tokenizer, obs_role=obs_role,
                                                stop_ids=model_stop_ids(model))
        self.logits_processors = list(logits_processors)
        self.probes = list(probes)
        self.generator: TurnGenerator | None = None
        #: Every generator of the current play: :attr:`generator` first, then the probes'.
        self.generators: list[TurnGenerator] = []
        self._rows: dict[int, Conversation] = {}
        self._closed: dict[int, bool] = {}

    def rollout(self, envs: Any, seeds: Sequence[int | None],
                options: dict[str, Any] | Sequence[dict[str, Any] | None] | None = None,
                max_turns: int | None = None, *, seed: int | None = None,
                progress: bool = False, stats: dict[str, Any] | None = None) -> list[Episode]:
        """Batched episodes, one per seed (see :func:`rollout`); ``seed`` overrides the
        sampling seed of :attr:`gen` for this call. The model is in eval mode while it
        plays and goes back to training mode afterwards if it was in it."""
        from tqdm.auto import tqdm

        seeds = list(seeds)
        was_training = bool(getattr(self.model, "training", False))
        bar = tqdm(total=len(seeds), desc="rollout", unit="ep",
                   disable=not (progress and bars_enabled()), leave=False)
        t_start = time.perf_counter()
        played: dict[str, Any] = {}
        try:
            done = play(envs, self, seeds, options, max_turns, seed=seed,
                        on_done=lambda _: bar.update(1), stats=played)
        finally:
            bar.close()
            if was_training:
                self.model.train()
        if stats is not None:
            stats.update(self.generator.stats)
            for extra in self.generators[1:]:  # probes' resamples count as generation too
                for key, value in extra.stats.items():
                    stats[key] += value
            stats.update(wall_s=time.perf_counter() - t_start, env_s=played["env_s"],
                         episodes=len(done), model_tokens=sum(e.model_tokens for e in done),
                         env_tokens=sum(len(e.env_mask) - e.model_tokens for e in done))
        return done

    # -- the Policy interface -----------------------------------------------------------

    def new_generator(self, **sampling: Any) -> TurnGenerator:
        """A generator for this play with the policy's processors and probes, sampling as
        :attr:`gen` with ``sampling`` fields replaced (a probe's resampler)."""
        gen = replace(self.gen, **sampling) if sampling else self.gen
        generator = TurnGenerator(self.model, self.format, gen, self.logits_processors,
                                  self.probes)
        self.generators.append(generator)
        return generator

    def reset(self, seed: int | None) -> None:
        """Fresh generators (and their caches) for a play, the probes' included; seeds
        torch's RNG with ``seed`` (else :attr:`gen`'s seed, if any); eval mode."""
        import torch

        gen = self.gen
        self.generators = []
        self.generator = self.new_generator()
        for probe in self.probes:
            probe.reset(self)
        self._rows, self._closed = {}, {}
        seed = gen.seed if seed is None else seed
        if seed is not None:
            torch.manual_seed(seed)
        self.model.eval()

    def start(self, slot: int, env: Any, episode: Episode) -> bool:
        if self.generator is None:
            raise RuntimeError("reset(seed) before the first episode (play() does it)")
        episode.prompt_ids = self.format.prompt_ids(episode.messages)
        self._rows[slot] = Conversation(list(episode.prompt_ids))
        self._closed[slot] = True
        if len(episode.prompt_ids) + self.gen.max_new_tokens > self.generator.max_context:
            logger.warning("prompt of seed %s is %d tokens; no room for a message",
                           episode.seed, len(episode.prompt_ids))
            return False
        return True

    def act(self, slots: Sequence[int], episodes: Sequence[Episode]) -> list[str]:
        rows = [self._rows[s] for s in slots]
        turn = Turn(rows, list(episodes), self.generator.generate(rows))
        for probe in self.probes:
            probe.revise(self, turn)
        texts = []
        for slot, ep, row, sample in zip(slots, episodes, rows, turn.samples, strict=True):
            text = sample.text(self.tokenizer)
            texts.append(text)
            # the previous message's trial or call, where the env rejected it, sent again
            failed = failed_action(ep.actions[-1], ep.observations[-1]) if ep.actions else None
            ep.resends += resends(failed, text)
            for mark in sample.marks:  # a probe's counter
                setattr(ep, mark, getattr(ep, mark) + 1)
            ep.completion_ids += sample.ids
            ep.env_mask += [1] * len(sample.ids)
            ep.logprobs += sample.logprobs
            ep.cut_actions += not sample.stopped
            row.ids += sample.ids
            self._closed[slot] = sample.stopped
        return texts

    def observe(self, slot: int, episode: Episode) -> bool:
        row = self._rows[slot]
        env_ids = self.format.observation_ids(episode.observations[-1], self._closed[slot])
        if len(row.ids) + len(env_ids) + self.gen.max_new_tokens > self.generator.max_context:
            return False
        episode.completion_ids += env_ids
        episode.env_mask += [0] * len(env_ids)
        episode.logprobs += [0.0] * len(env_ids)
        row.ids += env_ids
        return True


def rollout(model: Any, tokenizer: Any, envs: Any, seeds: Sequence[int | None],
            options: dict[str, Any] | Sequence[dict[str, Any] | None] | None = None,
            gen: SamplingConfig | None = None, max_turns: int | None = None, *,
            obs_role: str = "user", logits_processors: Sequence[Any] = (),
            progress: bool = False, chat_format: ChatFormat | None = None,
            stats: dict[str, Any] | None = None,
            probes: Sequence[Probe] = ()) -> list[Episode]:
    """Play one episode per seed with ``model``; many envs at once, exact token ids.

    Args:
        model: A causal LM (transformers or peft); put in eval mode for the rollout and
            restored afterwards.
        tokenizer: Its tokenizer (with a chat template).
        envs: A list of envs (or a ``SyncVectorEnv``): the batch. Each runs one episode at a
            time; when one ends, it starts the next pending seed, so there may be more seeds
            than envs (a turn-level continuous batch).
        seeds: One ``reset`` seed per episode.
        options: ``reset`` options for all episodes (a dict) or one per seed.
        gen: :class:`SamplingConfig`.
        max_turns: Stop an episode after this many messages even if its env goes on
            (default: only the env's own turn limit).
        obs_role: Chat role of observations.
        logits_processors: Extra ``transformers`` logits processors, run after sampling
            filters (recorded log-probs are before them).
        progress: Show a tqdm bar over episodes.
        chat_format: A precomputed :class:`ChatFormat` (built from ``tokenizer`` otherwise).
        stats: If given, filled with timing and token counts.
        probes: Evaluation probes (:mod:`tool_gym.agents.probes`).

    Returns:
        The episodes, in the order of ``seeds``.
    """
    policy = LLMPolicy(model, tokenizer, gen, obs_role, logits_processors=logits_processors,
                       chat_format=chat_format, probes=probes)
    return policy.rollout(envs, seeds, options, max_turns, progress=progress, stats=stats)


def episodes_to_trl(episodes: Sequence[Episode]) -> dict[str, list[Any]]:
    """The dict TRL's ``GRPOTrainer`` wants back from ``rollout_func``.

    ``prompt_ids``, ``completion_ids``, ``logprobs`` (0.0 on env tokens) and ``env_mask``
    (1 on model tokens), plus ``env_reward`` and ``success`` which TRL forwards to the reward
    functions as keyword arguments.
    """
    return {
        "prompt_ids": [list(e.prompt_ids) for e in episodes],
        "completion_ids": [list(e.completion_ids) for e in episodes],
        "logprobs": [list(e.logprobs) for e in episodes],
        "env_mask": [list(e.env_mask) for e in episodes],
        "env_reward": [float(e.reward) for e in episodes],
        "success": [float(e.success) for e in episodes],
    }

