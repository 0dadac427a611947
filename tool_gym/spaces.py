"""A Text space whose observations survive Gymnasium's shared-memory vectorisation.

Gymnasium 1.4's ``read_from_shared_memory`` for ``Text`` decodes the buffer once, when
``AsyncVectorEnv`` is built, and returns a tuple: every later observation read back is
that stale tuple. ``ToolText`` registers its own shared-memory handlers: ASCII bytes in
the buffer and a live view that decodes on access, so ``gym.make_vec(...,
vectorization_mode="async")`` is right by default, shared memory on or off.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

import numpy as np
from gymnasium.spaces import Text
from gymnasium.vector.utils import shared_memory as gym_shm


class ToolText(Text):
    """``Text`` over an ASCII charset (NUL excluded), with working shared memory."""

    def __init__(self, max_length: int, *, min_length: int = 1, charset: str, **kw: Any) -> None:
        if not charset.isascii() or "\x00" in charset:
            raise ValueError("ToolText needs an ASCII charset without NUL")
        super().__init__(max_length, min_length=min_length, charset=charset, **kw)


class TextBufferView(Sequence[str]):
    """The strings of ``n`` envs, decoded from the shared buffer each time they are read."""

    def __init__(self, buffer: Any, n: int, max_length: int) -> None:
        self._data = np.frombuffer(buffer.get_obj(), dtype=np.uint8).reshape(n, max_length)

    def __len__(self) -> int:
        return self._data.shape[0]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self))))
        return self._data[index].tobytes().rstrip(b"\x00").decode("ascii")

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))

    def __deepcopy__(self, memo: dict[int, Any]) -> tuple[str, ...]:
        return tuple(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __repr__(self) -> str:
        return f"TextBufferView({tuple(self)!r})"


@gym_shm.create_shared_memory.register(ToolText)
def _create(space: ToolText, n: int = 1, ctx: ModuleType = mp) -> Any:
    return ctx.Array("B", n * space.max_length)


@gym_shm.read_from_shared_memory.register(ToolText)
def _read(space: ToolText, shared_memory: Any, n: int = 1) -> TextBufferView:
    return TextBufferView(shared_memory, n, space.max_length)


@gym_shm.write_to_shared_memory.register(ToolText)
def _write(space: ToolText, index: int, value: str, shared_memory: Any) -> None:
    size = space.max_length
    data = value.encode("ascii")[:size]
    dest = np.frombuffer(shared_memory.get_obj(), dtype=np.uint8)
    row = dest[index * size: (index + 1) * size]
    row[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    row[len(data):] = 0
