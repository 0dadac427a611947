"""Batched multi-turn rollouts of an LLM in ToolMaster envs, with exact token ids.

:func:`rollout` plays one episode per seed with many envs at once: every turn, one
``model.generate`` call produces the next message of every running episode (left
padded, batched), each env steps on its message, and the observation is appended.

Token ids are never re-derived from text: the prompt and each observation are tokenised
once and wrapped by :class:`~tool_gym.agents.chat_format.ChatFormat` (the token contract
SFT and DAgger examples share), and the model's tokens are kept exactly as sampled, its
end-of-turn token included.

So ``prompt_ids + completion_ids`` is exactly the sequence the model conditioned on, and
what a trainer (TRL's GRPO ``rollout_func``) must score. ``env_mask`` is 1 on model tokens
and 0 on env tokens; ``logprobs`` has one entry per completion token: the sampling
log-probability ``log_softmax(logits / temperature)`` of the token the model produced
(before top-k/top-p filtering, as TRL computes its own), and ``0.0`` on env tokens.

Cache reuse: by default each episode keeps its KV cache between turns, so a turn only
runs the new observation through the model instead of the whole conversation. The batched
cache is rebuilt every turn by left-padding the episodes' own caches (position ids come from
the attention mask, so padding does not move anything). Token ids are exact either way and
log-probabilities are those of the logits that were sampled from; with
``SamplingConfig(reuse_cache=False)`` every turn re-encodes the conversation instead.
Prompts that start alike are encoded once: a GRPO group's repeated prompt, and the longest
common token prefix of fresh prompts (the rules and, within a domain, the tool catalogue).
Models with sliding-window or non-attention layers always re-encode.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from tool_gym.agents.chat_format import ChatFormat
from tool_gym.agents.progress import bars_enabled

logger = logging.getLogger(__name__)

__all__ = ["ChatFormat", "Conversation", "Episode", "SamplingConfig", "as_env_list",
           "episodes_to_trl", "make_envs", "model_stop_ids", "rollout"]

@dataclass
class SamplingConfig:
    """How messages are sampled.

    Attributes:
        temperature: Sampling temperature; ``0`` means greedy decoding.
        top_p: Nucleus sampling threshold (1.0: off).
        top_k: Keep the k most likely tokens (0: off).
        max_new_tokens: Most tokens in one message; a longer one is cut (and closed with
            the end-of-turn token as an env token if the episode goes on).
        max_context_tokens: An episode whose context cannot fit another full message ends
            (``stop_reason="context"``). Default: the model's ``max_position_embeddings``.
        seed: Seeds torch's RNG at the start of a rollout (None: leave it alone).
        reuse_cache: Keep each episode's KV cache between turns (see the module docs).
        catchup_tokens: With cache reuse, episodes with more than this many new tokens to
            encode (fresh prompts, long observations) are encoded first, in forward passes
            over groups of similar length, so short ones are not padded to the longest.
        max_thought_tokens: Budget forcing: once a message's ``<think>`` block holds this
            many tokens, its closing ``</think>`` is forced, so a thought that loops cannot
            use up the whole message and leave no call. ``None``: off. Meant for
            evaluation: the recorded log-probs are the model's own, before the forcing.
        resample_resends: A probe for evaluation (batched rollouts): a message that sends
            the previous message's failed trial or call again verbatim
            (:func:`resends_failed_call`) is sampled again, at ``resample_temperature``,
            up to this many times; the first sample that does not resend it replaces it
            (else the message stays). Its log-probs are the resample's. 0: off.
        resample_temperature: Temperature of those resamples (> 0).
    """

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 256
    max_context_tokens: int | None = None
    seed: int | None = None
    reuse_cache: bool = True
    catchup_tokens: int = 64
    max_thought_tokens: int | None = None
    resample_resends: int = 0
    resample_temperature: float = 0.7

    def __post_init__(self) -> None:
        if self.max_thought_tokens is not None and self.max_thought_tokens < 1:
            raise ValueError(f"max_thought_tokens must be >= 1 or None, got "
                             f"{self.max_thought_tokens}")
        if self.resample_resends < 0 or self.resample_temperature <= 0:
            raise ValueError(f"resample_resends must be >= 0 and resample_temperature > 0, "
                             f"got {self.resample_resends} and {self.resample_temperature}")

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0


@dataclass
class Episode:
    """One played episode, ready for a trainer.

    Attributes:
        prompt_ids: Chat-templated system + user prompt, with the generation prompt.
        completion_ids: Model and env tokens in order, starting with the first model token
            and ending with the last one.
        env_mask: 1 on model tokens, 0 on env tokens (TRL's ``env_mask``).
        logprobs: Per completion token; the sampling log-probability on model tokens,
            0.0 on env tokens.
        reward: Sum of the env rewards (success plus shaping terms).
        reward_terms: Each reward term summed over the episode.
        success: The env's hidden checker passed.
        turns: Messages the model sent.
        actions: Text of each message (decoded without special tokens).
        observations: The env's answer to each message (same length as ``actions``).
        stop_reason: ``"answer"``, ``"env_limit"`` (the env's turn limit), ``"max_turns"``
            (the rollout's), or ``"context"`` (the context was full).
        mutations: The drift applied to the episode's tools (``info["mutations"]`` at
            reset; empty without drift), so a transcript names the exact API it met.
        cut_actions: Messages cut at ``max_new_tokens``.
        forced_thoughts: Messages whose thought was closed by
            ``SamplingConfig.max_thought_tokens``.
        resends: Messages that sent the previous message's failed trial or call again
            verbatim (:func:`resends_failed_call`), as played.
        resampled: Such messages replaced by a resample
            (``SamplingConfig.resample_resends``).
    """

    seed: int | None
    options: dict[str, Any] | None
    messages: list[dict[str, str]]
    prompt_ids: list[int]
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    reward: float = 0.0
    reward_terms: dict[str, float] = field(default_factory=dict)
    success: bool = False
    terminated: bool = False
    truncated: bool = False
    stop_reason: str = ""
    turns: int = 0
    trials: int = 0
    calls: int = 0
    actions: list[str] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    cut_actions: int = 0
    forced_thoughts: int = 0
    resends: int = 0
    resampled: int = 0
    task_id: str = ""
    domain: str = ""
    split: str = ""
    mutations: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- envs ---------------------------------------------------------------------------------


def make_envs(env_id: str, n: int, **kwargs: Any) -> list[Any]:
    """``n`` independent envs from ``gym.make(env_id, **kwargs)``."""
    import gymnasium as gym

    import tool_gym  # noqa: F401  (registers the ids)

    return [gym.make(env_id, **kwargs) for _ in range(n)]


def as_env_list(envs: Any) -> list[Any]:
    """A list of single envs from a list, one env, or a vector env that exposes ``.envs``."""
    if isinstance(envs, (list, tuple)):
        return list(envs)
    sub = getattr(envs, "envs", None)
    if sub is not None:
        return list(sub)
    if hasattr(envs, "num_envs"):
        raise TypeError("vector envs must expose their sub-envs as `.envs` (SyncVectorEnv); "
                        "pass a list of envs instead")
    return [envs]


# -- generation ---------------------------------------------------------------------------


class Conversation:
    """A running conversation: its ids, and the KV cache of its first ``cached`` ids."""

    __slots__ = ("ids", "kv", "cached")

    def __init__(self, ids: list[int]) -> None:
        self.ids = ids
        self.kv: list[tuple[Any, Any]] | None = None
        self.cached = 0

    def drop_cache(self) -> None:
        self.kv, self.cached = None, 0


def _logprob_recorder(temperature: float) -> Any:
    import torch
    from transformers import LogitsProcessor

    class LogprobRecorder(LogitsProcessor):
        """First processor: records log_softmax(logits / T) of each sampled token, applies T.

        At step t it sees the token sampled at step t-1 as the last input id, so it only
        ever holds one [batch, vocab] distribution.
        """

        def __init__(self) -> None:
            self.temperature = temperature
            self.prev: Any = None
            self.steps: list[Any] = []

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            if self.prev is not None:
                self.steps.append(self.prev.gather(1, input_ids[:, -1:]).squeeze(1))
            scaled = scores / self.temperature if self.temperature != 1.0 else scores
            self.prev = torch.log_softmax(scaled.float(), dim=-1)
            return scaled

        def finish(self, last_tokens: Any) -> Any:
            if self.prev is not None:
                self.steps.append(self.prev.gather(1, last_tokens[:, None]).squeeze(1))
                self.prev = None
            return torch.stack(self.steps, dim=1) if self.steps else None

    return LogprobRecorder()


THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def _thought_budget(tokenizer: Any, start: int, budget: int, stop_ids: Sequence[int]) -> Any:
    """A processor that forces ``</think>`` once an open thought reaches ``budget`` tokens
    (the first thought of each message; a message rarely holds a second).

    It reads only the tokens generated in this call (columns ``start:``), decoded to text,
    so the tags count however the model happened to tokenise them; a closing tag the
    model has begun is left to finish.
    """
    import torch
    from transformers import LogitsProcessor

    close = list(tokenizer(THINK_CLOSE, add_special_tokens=False)["input_ids"])
    stops = set(stop_ids)

    class ThoughtBudget(LogitsProcessor):
        def __init__(self) -> None:
            self.rows: dict[int, list[int]] = {}  # row -> [open at, tag tokens forced]
            self.closed: set[int] = set()

        @property
        def forced(self) -> set[int]:
            """Rows whose thought was closed by force."""
            return {b for b, (_, k) in self.rows.items() if k > 0}

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

    return ThoughtBudget()


def _plain_attention(config: Any) -> bool:
    """Every layer is full attention (a re-padded ``DynamicCache`` stays exact)."""
    if config is None:
        return False
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    layer_types = getattr(text, "layer_types", None)
    if layer_types:
        return all(t == "full_attention" for t in layer_types)
    window = getattr(text, "sliding_window", None)
    return not window or getattr(text, "use_sliding_window", True) is False


class TurnGenerator:
    """Generates the next message of many conversations at once (one ``generate`` call).

    Used by :func:`rollout` and by :class:`~tool_gym.agents.policy.LLMPolicy` for one env.
    """

    MIN_SHARED_PREFIX = 16

    def __init__(self, model: Any, fmt: ChatFormat, gen: SamplingConfig,
                 logits_processors: Sequence[Any] = ()) -> None:
        import torch

        self.model = model
        self.fmt = fmt
        self.gen = gen
        self.extra_processors = list(logits_processors)
        self.reuse = gen.reuse_cache
        config = getattr(model, "config", None)
        self.max_context = gen.max_context_tokens or getattr(
            config, "max_position_embeddings", None) or 1 << 30
        if self.reuse and not _plain_attention(config):
            logger.info("the model has sliding-window or non-attention layers; re-encoding "
                        "the conversation each turn instead of keeping caches")
            self.reuse = False
        param = next(model.parameters())
        self.device = param.device
        self.torch = torch
        self.stats = {"generate_s": 0.0, "catchup_s": 0.0, "generated_tokens": 0,
                      "encoded_tokens": 0, "calls": 0}
        self._prefix: tuple[tuple[int, ...], list[tuple[Any, Any]]] | None = None
        self.last_forced: list[bool] = []

    # layout: row i occupies the right end of a [B, L] block; its first u_i ids come from
    # its own cache, the last S columns are run through the model.
    def _layout(self, rows: Sequence[Conversation], lengths: Sequence[int]) -> tuple[Any, ...]:
        torch = self.torch
        B = len(rows)
        L = max(lengths)
        use = [min(r.cached, n - 1) if (self.reuse and r.kv is not None) else 0
               for r, n in zip(rows, lengths, strict=True)]
        S = max(n - u for n, u in zip(lengths, use, strict=True))
        W = L - S
        ids = torch.full((B, L), self.fmt.pad_id, dtype=torch.long)
        mask = torch.zeros((B, L), dtype=torch.long)
        for i, (r, n) in enumerate(zip(rows, lengths, strict=True)):
            ids[i, L - n:] = torch.tensor(r.ids[:n], dtype=torch.long)
            mask[i, L - n:] = 1
        cache = None
        if W > 0:
            from transformers import DynamicCache

            layers = []
            n_layers = len(next(r.kv for r in rows if r.kv is not None))
            for layer in range(n_layers):
                ref_k, ref_v = next(r.kv[layer] for r in rows if r.kv is not None)
                k = ref_k.new_zeros((B, ref_k.shape[0], W, ref_k.shape[2]))
                v = ref_v.new_zeros((B, ref_v.shape[0], W, ref_v.shape[2]))
                for i, (r, n) in enumerate(zip(rows, lengths, strict=True)):
                    u = n - S
                    if u > 0:
                        rk, rv = r.kv[layer]
                        k[i, :, W - u:] = rk[:, :u]
                        v[i, :, W - u:] = rv[:, :u]
                layers.append((k, v))
            cache = DynamicCache(ddp_cache_data=layers)
        self.stats["encoded_tokens"] += int(mask[:, W:].sum())
        return ids.to(self.device), mask.to(self.device), cache, W, S, L

    def _keep_cache(self, rows: Sequence[Conversation], cache: Any, starts: Sequence[int],
                    ends: Sequence[int]) -> None:
        """Store ``cache[i, :, starts[i]:ends[i]]`` as row i's own cache."""
        from transformers import DynamicCache
        from transformers.cache_utils import DynamicLayer

        if not isinstance(cache, DynamicCache) or any(
                type(layer) is not DynamicLayer for layer in cache.layers):
            logger.info("the model's cache (%s) cannot be re-padded; re-encoding each turn",
                        type(cache).__name__)
            self.reuse = False
            for r in rows:
                r.drop_cache()
            return
        for i, r in enumerate(rows):
            s, e = starts[i], ends[i]
            r.kv = [(layer.keys[i, :, s:e].clone(), layer.values[i, :, s:e].clone())
                    for layer in cache.layers]
            r.cached = e - s

    def catch_up(self, rows: Sequence[Conversation]) -> None:
        """Encode all but the last id of each row into its cache (one forward pass)."""
        if not rows:
            return
        t0 = time.perf_counter()
        torch = self.torch
        lengths = [len(r.ids) - 1 for r in rows]
        ids, mask, cache, W, S, L = self._layout(rows, lengths)
        position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
        from transformers import DynamicCache

        inputs = {"input_ids": ids[:, W:], "attention_mask": mask,
                  "position_ids": position_ids[:, W:],
                  "past_key_values": cache if cache is not None else DynamicCache(),
                  "use_cache": True}
        with torch.no_grad():
            try:
                out = self.model(**inputs, logits_to_keep=1)  # skip the unused logits
            except TypeError:
                out = self.model(**inputs)
        self._keep_cache(rows, out.past_key_values, [L - n for n in lengths], [L] * len(rows))
        self.stats["catchup_s"] += time.perf_counter() - t0

    def _catch_up_long(self, rows: Sequence[Conversation]) -> None:
        """Encode long uncached suffixes before generating, with as little work as possible.

        Identical conversations (a GRPO group's repeated prompt) are encoded once; the
        longest common token prefix of fresh prompts (the rules, a domain's catalogue) is
        encoded once and shared, and kept for later prompts that start with it; the rest
        is encoded in forward passes over groups of similar length (little padding). A
        prefix's keys and values do not depend on what follows it, so sharing is exact.
        """
        def suffix(r: Conversation) -> int:
            return len(r.ids) - (r.cached if r.kv is not None else 0)

        long = [r for r in rows if suffix(r) > self.gen.catchup_tokens]
        if not long:
            return
        same: dict[tuple[int, ...], list[Conversation]] = {}
        for r in long:
            same.setdefault(tuple(r.ids), []).append(r)
        reps = [g[0] for g in same.values()]
        self._share_prefix([r for r in reps if r.kv is None])
        todo = sorted(((suffix(r), r) for r in reps), key=lambda x: x[0])
        group: list[Conversation] = []
        first = 0
        for n, r in todo:
            if group and n > 1.25 * first + 16:
                self.catch_up(group)
                group = []
            if not group:
                first = n
            group.append(r)
        self.catch_up(group)
        for head, *copies in same.values():
            for r in copies:
                r.kv, r.cached = head.kv, head.cached

    def _share_prefix(self, fresh: Sequence[Conversation]) -> None:
        """Give fresh rows the cache of their longest common prefix (computed once)."""
        if not fresh or not self.reuse:
            return
        if len(fresh) >= 2:
            first = fresh[0].ids
            n = min(len(r.ids) for r in fresh) - 1
            for r in fresh[1:]:
                n = next((i for i in range(n) if r.ids[i] != first[i]), n)
            shared = tuple(first[:n])
            old = self._prefix
            if n >= self.MIN_SHARED_PREFIX and (old is None or old[0] != shared):
                if old is not None and old[0][:n] == shared:  # a prefix of the stored one
                    self._prefix = (shared, [(k[:, :n], v[:, :n]) for k, v in old[1]])
                else:
                    holder = Conversation(list(first[:n + 1]))
                    if old is not None and shared[:len(old[0])] == old[0]:
                        holder.kv, holder.cached = old[1], len(old[0])
                    self.catch_up([holder])
                    if holder.kv is not None:
                        self._prefix = (shared, holder.kv)
        if self._prefix is None:
            return
        ids, kv = self._prefix
        for r in fresh:
            if len(r.ids) > len(ids) and tuple(r.ids[:len(ids)]) == ids:
                r.kv, r.cached = kv, len(ids)

    def generate(self, rows: Sequence[Conversation]) -> list[tuple[list[int], list[float], bool]]:
        """Next message of every row: (token ids, their log-probs, ended with a stop token)."""
        torch = self.torch
        from transformers import GenerationConfig, LogitsProcessorList
        from transformers.generation.logits_process import TopKLogitsWarper, TopPLogitsWarper

        gen = self.gen
        if self.reuse:
            self._catch_up_long(rows)
        t0 = time.perf_counter()
        lengths = [len(r.ids) for r in rows]
        ids, mask, cache, W, S, L = self._layout(rows, lengths)
        temperature = 1.0 if gen.greedy else float(gen.temperature)
        recorder = _logprob_recorder(temperature)
        processors = [recorder]
        if not gen.greedy and gen.top_k and gen.top_k > 0:
            processors.append(TopKLogitsWarper(int(gen.top_k)))
        if not gen.greedy and gen.top_p < 1.0:
            processors.append(TopPLogitsWarper(float(gen.top_p)))
        processors += self.extra_processors
        if gen.max_thought_tokens is not None:  # last: it overrides every other processor
            budget = _thought_budget(self.fmt.tokenizer, L, gen.max_thought_tokens,
                                     self.fmt.stop_ids)
            processors.append(budget)
        config = GenerationConfig(
            max_new_tokens=gen.max_new_tokens, do_sample=not gen.greedy, temperature=1.0,
            top_p=1.0, top_k=0, eos_token_id=list(self.fmt.stop_ids),
            pad_token_id=self.fmt.pad_id, use_cache=True, return_dict_in_generate=True)
        kwargs = {"past_key_values": cache} if cache is not None else {}
        with torch.no_grad():
            out = self.model.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                                      logits_processor=LogitsProcessorList(processors), **kwargs)
        new = out.sequences[:, L:].cpu()
        logps = recorder.finish(out.sequences[:, -1])
        logps = logps.cpu() if logps is not None else torch.zeros(new.shape)
        stops = torch.tensor(self.fmt.stop_ids)
        results = []
        ends = []
        for i in range(len(rows)):
            toks = new[i].tolist()
            hit = torch.isin(new[i], stops).nonzero()
            k = int(hit[0]) + 1 if len(hit) else len(toks)
            results.append((toks[:k], [float(x) for x in logps[i, :k]], bool(len(hit))))
            ends.append(L + k - 1)  # the last sampled token was never run through the model
        self.stats["generate_s"] += time.perf_counter() - t0
        self.stats["generated_tokens"] += sum(len(r[0]) for r in results)
        self.stats["calls"] += 1
        #: Per row of the last call: its thought was closed by ``max_thought_tokens``.
        self.last_forced = [i in budget.forced for i in range(len(rows))] if (
            gen.max_thought_tokens is not None) else [False] * len(rows)
        if self.reuse:
            self._keep_cache(rows, out.past_key_values, [L - n for n in lengths], ends)
        return results


# -- rollout ------------------------------------------------------------------------------


def failed_action(previous: str, observation: str) -> tuple[str, str | None, dict] | None:
    """``previous``'s first trial or call (:func:`~tool_gym.protocol.first_action`) when
    the env rejected it (the first response in ``observation`` is an error), else None."""
    from tool_gym.protocol import first_action, parse_responses

    failed = first_action(previous)
    if failed is None:
        return None
    answers = parse_responses(observation)
    return failed if answers and not answers[0].ok else None


def resends_failed_call(previous: str, observation: str, message: str) -> bool:
    """Whether ``message``'s first trial or call has the same body, verbatim, as
    ``previous``'s first trial or call, which the env rejected (the first response in
    ``observation`` is an error)."""
    return _resends(failed_action(previous, observation), message)


def _resends(failed: tuple[str, str | None, dict] | None, message: str) -> bool:
    from tool_gym.protocol import first_action

    now = first_action(message) if failed is not None else None
    return now is not None and now[0] == failed[0]


def _resample_resends(resampler: TurnGenerator, tokenizer: Any, rows: list[Conversation],
                      failed: list[tuple[str, str | None, dict] | None],
                      outputs: list[tuple[list[int], list[float], bool]], texts: list[str],
                      forced: list[bool], resent: list[bool], tries: int) -> list[bool]:
    """Replace in place each output that resends its row's ``failed`` call (``resent``) by
    the first of up to ``tries`` resamples that does not, with its text, thought-budget
    flag and ``resent``; returns which rows were replaced."""
    replaced = [False] * len(rows)
    todo = [i for i, r in enumerate(resent) if r]
    for _ in range(tries):
        if not todo:
            break
        fresh = resampler.generate([rows[i] for i in todo])
        left = []
        for i, out, was_forced in zip(todo, fresh, resampler.last_forced, strict=True):
            text = _decode(tokenizer, out)
            if _resends(failed[i], text):
                left.append(i)
                continue
            outputs[i], texts[i], forced[i] = out, text, was_forced
            resent[i], replaced[i] = False, True
        todo = left
    return replaced


def _decode(tokenizer: Any, out: tuple[list[int], list[float], bool]) -> str:
    toks, _, closed = out
    return tokenizer.decode(toks[:-1] if closed else toks, skip_special_tokens=True)



def _options_for(options: Any, n: int) -> list[dict[str, Any] | None]:
    if options is None or isinstance(options, dict):
        return [options] * n
    options = list(options)
    if len(options) != n:
        raise ValueError(f"got {len(options)} options for {n} seeds")
    return options


def model_stop_ids(model: Any) -> list[int]:
    """The model's end-of-turn token ids (its generation config's ``eos_token_id``)."""
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if eos is None:
        return []
    return [eos] if isinstance(eos, int) else list(eos)


def rollout(model: Any, tokenizer: Any, envs: Any, seeds: Sequence[int | None],
            options: dict[str, Any] | Sequence[dict[str, Any] | None] | None = None,
            gen: SamplingConfig | None = None, max_turns: int | None = None, *,
            obs_role: str = "user", logits_processors: Sequence[Any] = (),
            progress: bool = False, chat_format: ChatFormat | None = None,
            stats: dict[str, Any] | None = None) -> list[Episode]:
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

    Returns:
        The episodes, in the order of ``seeds``.
    """
    import torch

    gen = gen or SamplingConfig()
    env_list = as_env_list(envs)
    if not env_list:
        raise ValueError("no envs to play")
    seeds = list(seeds)
    opts = _options_for(options, len(seeds))
    fmt = chat_format or ChatFormat(tokenizer, obs_role=obs_role, stop_ids=model_stop_ids(model))
    generator = TurnGenerator(model, fmt, gen, logits_processors)
    resampler = TurnGenerator(model, fmt, replace(gen, temperature=gen.resample_temperature),
                              logits_processors) if gen.resample_resends else None
    if gen.seed is not None:
        torch.manual_seed(gen.seed)
    was_training = bool(getattr(model, "training", False))
    model.eval()
    episodes: list[Episode | None] = [None] * len(seeds)
    pending = list(range(len(seeds)))[::-1]
    slots: list[tuple[int, Any, Episode, Conversation] | None] = [None] * min(len(env_list), len(seeds))
    from tqdm.auto import tqdm

    bar = tqdm(total=len(seeds), desc="rollout", unit="ep",
               disable=not (progress and bars_enabled()), leave=False)
    t_start = time.perf_counter()
    env_s = 0.0

    def finish(slot: int, reason: str) -> None:
        idx, _, ep, _ = slots[slot]
        ep.stop_reason = reason
        episodes[idx] = ep
        slots[slot] = None
        bar.update(1)

    try:
        while pending or any(s is not None for s in slots):
            for s in range(len(slots)):
                while slots[s] is None and pending:
                    idx = pending.pop()
                    env = env_list[s]
                    t0 = time.perf_counter()
                    _, info = env.reset(seed=seeds[idx], options=opts[idx])
                    env_s += time.perf_counter() - t0
                    messages = info["messages"]
                    ep = Episode(seed=seeds[idx], options=opts[idx], messages=messages,
                                 prompt_ids=fmt.prompt_ids(messages),
                                 task_id=str(info.get("task_id", "")),
                                 domain=str(info.get("domain", "")),
                                 split=str(info.get("split", "")),
                                 mutations=list(info.get("mutations", [])))
                    slots[s] = (idx, env, ep, Conversation(list(ep.prompt_ids)))
                    if len(ep.prompt_ids) + gen.max_new_tokens > generator.max_context:
                        logger.warning("prompt of seed %s is %d tokens; no room for a message",
                                       seeds[idx], len(ep.prompt_ids))
                        ep.truncated = True
                        finish(s, "context")
            live = [s for s in range(len(slots)) if slots[s] is not None]
            if not live:
                continue
            outputs = generator.generate([slots[s][3] for s in live])
            forced_now = list(generator.last_forced)
            texts = [_decode(tokenizer, out) for out in outputs]
            # the previous message's trial or call, where the env rejected it
            failed = [failed_action(ep.actions[-1], ep.observations[-1]) if ep.actions else None
                      for ep in (slots[s][2] for s in live)]
            resent = [_resends(f, t) for f, t in zip(failed, texts, strict=True)]
            replaced = [False] * len(live)
            if resampler is not None:
                replaced = _resample_resends(resampler, tokenizer, [slots[s][3] for s in live],
                                             failed, outputs, texts, forced_now, resent,
                                             gen.resample_resends)
            for j, s in enumerate(live):
                idx, env, ep, row = slots[s]
                toks, logps, closed = outputs[j]
                text = texts[j]
                ep.forced_thoughts += forced_now[j]
                ep.resends += resent[j]
                ep.resampled += replaced[j]
                ep.completion_ids += toks
                ep.env_mask += [1] * len(toks)
                ep.logprobs += logps
                ep.actions.append(text)
                ep.cut_actions += not closed
                row.ids += toks
                t0 = time.perf_counter()
                obs, reward, terminated, truncated, info = env.step(text)
                env_s += time.perf_counter() - t0
                ep.observations.append(obs)
                ep.reward += float(reward)
                for k, v in (info.get("reward_terms") or {}).items():
                    ep.reward_terms[k] = ep.reward_terms.get(k, 0.0) + float(v)
                ep.turns += 1
                ep.trials = int(info.get("trials", ep.trials))
                ep.calls = int(info.get("calls", ep.calls))
                ep.terminated, ep.truncated = bool(terminated), bool(truncated)
                if terminated or truncated:
                    ep.success = bool(info.get("success"))
                    ep.info = {k: v for k, v in info.items() if k != "reward_terms"}
                    finish(s, "answer" if terminated else "env_limit")
                    continue
                if max_turns is not None and ep.turns >= max_turns:
                    ep.truncated = True
                    finish(s, "max_turns")
                    continue
                env_ids = fmt.observation_ids(obs, closed)
                if len(row.ids) + len(env_ids) + gen.max_new_tokens > generator.max_context:
                    ep.truncated = True
                    finish(s, "context")
                    continue
                ep.completion_ids += env_ids
                ep.env_mask += [0] * len(env_ids)
                ep.logprobs += [0.0] * len(env_ids)
                row.ids += env_ids
    finally:
        bar.close()
        if was_training:
            model.train()
    done = [e for e in episodes if e is not None]
    if stats is not None:
        stats.update(generator.stats)
        if resampler is not None:  # resamples count as generation too
            for key, value in resampler.stats.items():
                stats[key] += value
        stats.update(wall_s=time.perf_counter() - t_start, env_s=env_s, episodes=len(done),
                     model_tokens=sum(e.model_tokens for e in done),
                     env_tokens=sum(len(e.env_mask) - e.model_tokens for e in done))
    return done


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

