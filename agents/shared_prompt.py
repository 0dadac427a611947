"""GRPO's update with each distinct prompt run through the model once.

TRL's ``GRPOTrainer`` scores a micro-batch by running every row, prompt and completion,
through the model, and (off Triton devices) its fused LM head projects every position,
the prompt's included. A GRPO group repeats one prompt ``num_generations`` times, so most
of that work is the same prompt again. :func:`completion_logps` gives the same per-token
log-probabilities and entropies, and the same gradients, while running each distinct
prompt of the micro-batch once:

1. the prompt minus its last token, one row per distinct prompt, through the backbone
   with a KV cache (the LM head projects no prompt position);
2. that cache gathered to the rows that share each prompt (autograd sums the rows'
   gradients back into the one prompt pass);
3. the last prompt token and the completion through the model with the cache, TRL's
   fused head scoring the completion's tokens.

Columns that are padding in every row of the micro-batch (left padding of the prompts,
right padding of the completions; TRL pads to the whole generation batch) are left out;
explicit position ids keep every token where the full forward puts it. Both passes use
the same weights and masks, so the result equals TRL's up to float rounding (tested).

Needs a cache that can be gathered and extended exactly (every layer full attention)
and no gradient checkpointing (checkpointed layers drop the cache); otherwise, and for
multimodal inputs, the trainer falls back to TRL's own computation.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import DynamicCache
from trl import GRPOTrainer

from tool_gym.agents.kv_cache import plain_attention

__all__ = ["SharedPromptGRPOTrainer", "can_share_prompt", "completion_logps"]


def can_share_prompt(model: Any) -> bool:
    """Whether :func:`completion_logps` is exact for ``model``'s layers."""
    return plain_attention(getattr(model, "config", None))


def completion_logps(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     logits_to_keep: int, *, compute_entropy: bool = False,
                     ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probabilities (and entropies) of the last ``logits_to_keep`` tokens of each row.

    ``model`` carries TRL's fused LM head (``model(..., fused_lm_head=True)``); rows are
    left-padded prompts followed by right-padded completions, as TRL builds them. Returns
    ``(B, logits_to_keep)`` tensors, 0 where the token is padding, like TRL's.
    """
    rows, length = input_ids.shape
    prompt_len = length - logits_to_keep
    if prompt_len < 2:
        raise ValueError("a prompt of at least 2 tokens is needed to share it")
    used = attention_mask.bool()
    lead = int((~used[:, :prompt_len - 1]).all(dim=0).int().cumprod(0).sum())
    any_used = used.any(dim=0).nonzero()
    end = max(int(any_used[-1]) + 1, prompt_len) if len(any_used) else prompt_len
    positions = torch.arange(length, device=input_ids.device)

    # 1. each distinct prompt (minus its last token) once, through the backbone
    head = slice(lead, prompt_len - 1)
    key = torch.cat([input_ids[:, head] * used[:, head], attention_mask[:, head]], dim=1)
    _, inverse = torch.unique(key, dim=0, return_inverse=True)
    firsts = torch.stack([(inverse == u).nonzero()[0, 0] for u in range(int(inverse.max()) + 1)])
    cache = DynamicCache()
    if prompt_len - 1 > lead:
        model(input_ids=input_ids[firsts, head], attention_mask=attention_mask[firsts, head],
              position_ids=positions[head].expand(len(firsts), -1), past_key_values=cache,
              use_cache=True, logits_to_keep=1)
        # 2. gathered to every row that shares it
        cache.batch_select_indices(inverse)

    # 3. the last prompt token and the completion, scored by the fused head
    tail = slice(prompt_len - 1, end)
    labels = input_ids[:, prompt_len:end].masked_fill(~used[:, prompt_len:end], -100)
    labels = torch.cat([labels, labels.new_full((rows, 1), -100)], dim=1)
    out = model(input_ids=input_ids[:, tail], attention_mask=attention_mask[:, lead:end],
                position_ids=positions[tail].expand(rows, -1), past_key_values=cache,
                shift_labels=labels, fused_lm_head=True)
    pad = logits_to_keep - (end - prompt_len)

    def kept(x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pad(x[:, :-1], (0, pad))

    return kept(out.log_probs), (kept(out.entropy) if compute_entropy else None)


class SharedPromptGRPOTrainer(GRPOTrainer):
    """``GRPOTrainer`` whose log-probabilities come from :func:`completion_logps` when it
    is exact for the model (text only, no MoE auxiliary loss, no gradient
    checkpointing)."""

    def _get_per_token_logps_and_entropies(self, model: Any, input_ids: Any,
                                           attention_mask: Any, logits_to_keep: int,
                                           batch_size: int | None = None,
                                           compute_entropy: bool = False,
                                           compute_aux_loss: bool = False, **extra: Any):
        if (compute_aux_loss or any(v is not None for v in extra.values())
                or input_ids.size(1) - logits_to_keep < 2
                or self.args.gradient_checkpointing
                or not can_share_prompt(self.accelerator.unwrap_model(model))):
            return super()._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, batch_size=batch_size,
                compute_entropy=compute_entropy, compute_aux_loss=compute_aux_loss, **extra)
        batch_size = batch_size or input_ids.size(0)
        logps, entropies = [], []
        for start in range(0, input_ids.size(0), batch_size):
            rows = slice(start, start + batch_size)
            with self.accelerator.autocast():
                lp, ent = completion_logps(model, input_ids[rows], attention_mask[rows],
                                           logits_to_keep, compute_entropy=compute_entropy)
            logps.append(lp)
            entropies.append(ent)
        return (torch.cat(logps), torch.cat(entropies) if compute_entropy else None, None)
