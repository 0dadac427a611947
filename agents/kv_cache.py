"""A KV cache for decoding that appends in place.

Transformers' ``DynamicLayer`` appends a decoding step's key and value with
``torch.cat``, copying the whole cache at every step of every layer (``aten::cat`` led a
CPU profile of a decoding step of 16 rows at 700 cached tokens on the default model).
Appending in place cut one GRPO step's rollouts of 16 episodes from 103.5 s to 89.0 s here,
the same tokens (two runs before and after the change, not side by side in a benchmark:
``docs/experiment-log.md``). :class:`GrowingLayer` keeps its
keys and values in a buffer with spare room and writes each step into it, so a step copies
only the new position; ``keys``/``values`` are views of the buffer's filled part, so every
other method of ``DynamicLayer`` (crop, batch selection, lengths, masks) works unchanged.
The cached values are the same tensors either way. For inference only (no autograd
through the in-place writes).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from transformers import DynamicCache
from transformers.cache_utils import Cache, DynamicLayer

__all__ = ["GrowingCache", "GrowingLayer", "plain_attention"]


def plain_attention(config: Any) -> bool:
    """Every layer of a model with this config is full attention: a cache of its keys and
    values can be re-padded, gathered and grown (:class:`GrowingLayer`) and stay exact."""
    if config is None:
        return False
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    layer_types = getattr(text, "layer_types", None)
    if layer_types:
        return all(t == "full_attention" for t in layer_types)
    window = getattr(text, "sliding_window", None)
    return not window or getattr(text, "use_sliding_window", True) is False


class GrowingLayer(DynamicLayer):
    """``DynamicLayer`` whose appends write into spare room instead of concatenating."""

    #: Room added past what an append needs: this many positions plus a quarter of the
    #: length, so a message of up to this many tokens is decoded without a reallocation.
    SPARE = 128

    @classmethod
    def room(cls, need: int) -> int:
        """The positions a buffer gets when it must hold ``need``."""
        return need + cls.SPARE + need // 4

    def adopt(self, key_buf: torch.Tensor, value_buf: torch.Tensor, length: int) -> None:
        """Make buffers whose first ``length`` positions are filled this layer's cache,
        without copying them; the rest is room for appends."""
        self.lazy_initialization(key_buf, value_buf)
        self._key_buf, self._value_buf = key_buf, value_buf
        self.keys = key_buf[..., :length, :]
        self.values = value_buf[..., :length, :]

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self._key_buf: torch.Tensor | None = None
        self._value_buf: torch.Tensor | None = None

    def _owns(self) -> bool:
        """``keys``/``values`` are still the front of this layer's buffers (a crop keeps
        them so; a batch selection or reorder replaces them)."""
        kb, vb = self._key_buf, self._value_buf
        return (kb is not None and self.keys.data_ptr() == kb.data_ptr()
                and self.keys.stride() == kb.stride() and self.values.data_ptr() == vb.data_ptr()
                and self.values.stride() == vb.stride())

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        n = self.get_seq_length()
        need = n + key_states.shape[-2]
        if not (n and self._owns() and need <= self._key_buf.shape[-2]):
            room = self.room(need)
            kb = key_states.new_empty((*key_states.shape[:2], room, key_states.shape[-1]))
            vb = value_states.new_empty((*value_states.shape[:2], room, value_states.shape[-1]))
            if n:
                kb[..., :n, :] = self.keys
                vb[..., :n, :] = self.values
            self._key_buf, self._value_buf = kb, vb
        self._key_buf[..., n:need, :] = key_states
        self._value_buf[..., n:need, :] = value_states
        self.keys = self._key_buf[..., :need, :]
        self.values = self._value_buf[..., :need, :]
        return self.keys, self.values


class GrowingCache(DynamicCache):
    """A ``DynamicCache`` of :class:`GrowingLayer` layers, optionally filled with
    ``(keys, values)`` per layer (copied into buffers with room)."""

    def __init__(self, data: Iterable[tuple[torch.Tensor, torch.Tensor]] = ()) -> None:
        Cache.__init__(self, layer_class_to_replicate=GrowingLayer)
        for layer_idx, (keys, values) in enumerate(data):
            self.update(keys, values, layer_idx)

    @classmethod
    def from_buffers(cls, buffers: Iterable[tuple[torch.Tensor, torch.Tensor]],
                     length: int) -> GrowingCache:
        """A cache that owns ``(key_buffer, value_buffer)`` per layer, each filled up to
        ``length`` positions (no copy: build the buffers at :meth:`GrowingLayer.room`)."""
        cache = cls()
        for keys, values in buffers:
            layer = GrowingLayer()
            layer.adopt(keys, values, length)
            cache.layers.append(layer)
        return cache
