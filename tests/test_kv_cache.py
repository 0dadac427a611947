"""The in-place KV cache holds what transformers' DynamicCache holds, without copying it
at every decoding step."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def test_growing_cache_equals_dynamic_cache_through_appends_crops_and_selections():
    from transformers import DynamicCache

    from tool_gym.agents.kv_cache import GrowingCache, GrowingLayer

    gen = torch.Generator().manual_seed(0)

    def kv(batch, n):
        return (torch.randn(batch, 3, n, 8, generator=gen), torch.randn(batch, 3, n, 8, generator=gen))

    first = [kv(4, 10) for _ in range(2)]
    ours, theirs = GrowingCache(first), DynamicCache(ddp_cache_data=first)
    assert all(type(layer) is GrowingLayer for layer in ours.layers)

    def same():
        for a, b in zip(ours.layers, theirs.layers, strict=True):
            assert torch.equal(a.keys, b.keys) and torch.equal(a.values, b.values)
        assert ours.get_seq_length() == theirs.get_seq_length()

    buffer = ours.layers[0]._key_buf.data_ptr()
    for _ in range(20):  # decoding steps: one position each, written into the spare room
        new = kv(4, 1)
        for i in range(2):
            assert torch.equal(ours.update(*new, i)[0], theirs.update(*new, i)[0])
    same()
    assert ours.layers[0]._key_buf.data_ptr() == buffer, "a decoding step reallocated"
    ours.crop(-5)
    theirs.crop(-5)
    new = kv(4, 3)
    for i in range(2):
        ours.update(*new, i)
        theirs.update(*new, i)
    same()
    index = torch.tensor([2, 0, 0])
    ours.batch_select_indices(index)
    theirs.batch_select_indices(index)
    new = kv(3, 200)  # more than the spare room: a new buffer
    for i in range(2):
        ours.update(*new, i)
        theirs.update(*new, i)
    same()
    assert ours.get_seq_length() == 10 + 20 - 5 + 3 + 200


def test_cache_from_buffers_adopts_them_and_appends_into_their_room():
    from transformers import DynamicCache

    from tool_gym.agents.kv_cache import GrowingCache, GrowingLayer

    gen = torch.Generator().manual_seed(1)
    filled = 6
    room = GrowingLayer.room(filled + 40)
    buffers = [(torch.randn(2, 3, room, 8, generator=gen), torch.randn(2, 3, room, 8, generator=gen))
               for _ in range(2)]
    ours = GrowingCache.from_buffers(buffers, filled)
    theirs = DynamicCache(ddp_cache_data=[(k[:, :, :filled].clone(), v[:, :, :filled].clone())
                                          for k, v in buffers])
    assert ours.get_seq_length() == filled
    assert ours.layers[0].keys.data_ptr() == buffers[0][0].data_ptr(), "the buffer was copied"
    for n in (30, 1, 1, 9):  # a catch-up pass, then decoding steps, all within the room
        new = (torch.randn(2, 3, n, 8, generator=gen), torch.randn(2, 3, n, 8, generator=gen))
        for i in range(2):
            assert torch.equal(ours.update(*new, i)[1], theirs.update(*new, i)[1])
    assert ours.layers[1]._value_buf.data_ptr() == buffers[1][1].data_ptr(), "reallocated"
    assert ours.get_seq_length() == theirs.get_seq_length() == filled + 41
