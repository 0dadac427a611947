"""Generation for rollouts: the next message of many conversations in one ``generate`` call.

:class:`TurnGenerator` keeps each conversation's KV cache between turns, so a turn only
runs the new observation through the model instead of the whole conversation. The
batched cache is rebuilt every turn by left-padding the conversations' own caches
(position ids come from the attention mask, so padding does not move anything). Token ids
are exact either way and log-probabilities are those of the logits that were sampled
from; with ``SamplingConfig(reuse_cache=False)`` every turn re-encodes the conversation
instead. Prompts that start alike are encoded once: a GRPO group's repeated prompt, and
the longest common token prefix of fresh prompts (the rules and, within a domain, the
tool catalogue). Models with sliding-window or non-attention layers always re-encode.

The log-probability recorded for a token is ``log_softmax(logits / temperature)`` of the
token the model produced, before top-k/top-p filtering (TRL computes its own).
Evaluation probes (:mod:`tool_gym.agents.probes`) add logits processors to every call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tool_gym.agents.chat_format import ChatFormat

if TYPE_CHECKING:
    from tool_gym.agents.probes import Probe

logger = logging.getLogger(__name__)

__all__ = ["Conversation", "Sample", "SamplingConfig", "TurnGenerator"]


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

    Evaluation probes (a thought budget, resampling resent calls) are not sampling
    settings: see :mod:`tool_gym.agents.probes`.
    """

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 256
    max_context_tokens: int | None = None
    seed: int | None = None
    reuse_cache: bool = True
    catchup_tokens: int = 64

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0


@dataclass
class Sample:
    """One generated message.

    Attributes:
        ids: Its token ids, the stop token included when it has one.
        logprobs: One sampling log-probability per id.
        stopped: It ended with a stop token (else it was cut at ``max_new_tokens``).
        marks: What probes' processors marked it with (each names an
            :class:`~tool_gym.agents.rollout.Episode` counter).
    """

    ids: list[int]
    logprobs: list[float]
    stopped: bool
    marks: frozenset[str] = field(default_factory=frozenset)

    def text(self, tokenizer: Any) -> str:
        """The message as text, without special tokens."""
        ids = self.ids[:-1] if self.stopped else self.ids
        return tokenizer.decode(ids, skip_special_tokens=True)


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


class TurnGenerator:
    """Generates the next message of many conversations at once (one ``generate`` call).

    Used by :func:`rollout` and by :class:`~tool_gym.agents.policy.LLMPolicy` for one env.
    """

    MIN_SHARED_PREFIX = 16

    def __init__(self, model: Any, fmt: ChatFormat, gen: SamplingConfig,
                 logits_processors: Sequence[Any] = (), probes: Sequence[Probe] = ()) -> None:
        import torch

        self.model = model
        self.fmt = fmt
        self.gen = gen
        self.extra_processors = list(logits_processors)
        self.probes = list(probes)
        self.reuse = gen.reuse_cache
        config = getattr(model, "config", None)
        self.max_context = gen.max_context_tokens or getattr(
            config, "max_position_embeddings", None) or 1 << 30
        from tool_gym.agents.kv_cache import plain_attention

        self.plain = plain_attention(config)  # re-padded and growing caches are exact
        if self.reuse and not self.plain:
            logger.info("the model has sliding-window or non-attention layers; re-encoding "
                        "the conversation each turn instead of keeping caches")
            self.reuse = False
        param = next(model.parameters())
        self.device = param.device
        self.torch = torch
        self.stats = {"generate_s": 0.0, "catchup_s": 0.0, "generated_tokens": 0,
                      "encoded_tokens": 0, "calls": 0}
        self._prefix: tuple[tuple[int, ...], list[tuple[Any, Any]]] | None = None

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
            from tool_gym.agents.kv_cache import GrowingCache, GrowingLayer

            # buffers with room for the S columns this pass appends and the decoding after
            # it, so neither copies the cache again
            room = GrowingLayer.room(L)
            layers = []
            n_layers = len(next(r.kv for r in rows if r.kv is not None))
            for layer in range(n_layers):
                ref_k, ref_v = next(r.kv[layer] for r in rows if r.kv is not None)
                k = ref_k.new_empty((B, ref_k.shape[0], room, ref_k.shape[2]))
                v = ref_v.new_empty((B, ref_v.shape[0], room, ref_v.shape[2]))
                k[:, :, :W].zero_()  # padding is read (masked); the room past W is not
                v[:, :, :W].zero_()
                for i, (r, n) in enumerate(zip(rows, lengths, strict=True)):
                    u = n - S
                    if u > 0:
                        rk, rv = r.kv[layer]
                        k[i, :, W - u:W] = rk[:, :u]
                        v[i, :, W - u:W] = rv[:, :u]
                layers.append((k, v))
            cache = GrowingCache.from_buffers(layers, W)
        self.stats["encoded_tokens"] += int(mask[:, W:].sum())
        return ids.to(self.device), mask.to(self.device), cache, W, S, L

    def _keep_cache(self, rows: Sequence[Conversation], cache: Any, starts: Sequence[int],
                    ends: Sequence[int]) -> None:
        """Store ``cache[i, :, starts[i]:ends[i]]`` as row i's own cache."""
        from transformers import DynamicCache
        from transformers.cache_utils import DynamicLayer

        from tool_gym.agents.kv_cache import GrowingLayer

        if not isinstance(cache, DynamicCache) or any(
                type(layer) not in (DynamicLayer, GrowingLayer) for layer in cache.layers):
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
        from tool_gym.agents.kv_cache import GrowingCache

        inputs = {"input_ids": ids[:, W:], "attention_mask": mask,
                  "position_ids": position_ids[:, W:],
                  "past_key_values": cache if cache is not None else GrowingCache(),
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

    def generate(self, rows: Sequence[Conversation]) -> list[Sample]:
        """Next message of every row."""
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
        # the probes' last: they override every other processor
        probed = [p for probe in self.probes for p in probe.processors(self.fmt, L)]
        processors += probed
        config = GenerationConfig(
            max_new_tokens=gen.max_new_tokens, do_sample=not gen.greedy, temperature=1.0,
            top_p=1.0, top_k=0, eos_token_id=list(self.fmt.stop_ids),
            pad_token_id=self.fmt.pad_id, use_cache=True, return_dict_in_generate=True)
        if cache is None and self.plain:
            from tool_gym.agents.kv_cache import GrowingCache

            cache = GrowingCache()
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
            marks = frozenset(p.mark for p in probed if i in getattr(p, "marked", ()))
            results.append(Sample(toks[:k], [float(x) for x in logps[i, :k]], bool(len(hit)),
                                  marks))
            ends.append(L + k - 1)  # the last sampled token was never run through the model
        self.stats["generate_s"] += time.perf_counter() - t0
        self.stats["generated_tokens"] += sum(len(r.ids) for r in results)
        self.stats["calls"] += 1
        if self.reuse:
            self._keep_cache(rows, out.past_key_values, [L - n for n in lengths], ends)
        return results
