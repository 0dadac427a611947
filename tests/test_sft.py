"""Imitation: assistant-only labels, a tiny LoRA run that learns, checkpoints and resume."""

from __future__ import annotations

import json
from functools import partial

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from transformers import TrainerCallback  # noqa: E402

from tool_gym.agents.sft import (  # noqa: E402
    IGNORE_INDEX,
    ChatTemplateError,
    build_sft_dataset,
    last_checkpoint,
    repeated_calls,
    split_records,
    tokenize_conversation,
    train_sft,
)
from tool_gym.agents.teachers import GoldenTeacher, TrialTeacher  # noqa: E402
from tool_gym.agents.traces import generate_traces  # noqa: E402


def tiny_lm(seed: int = 0):
    """The project's tiny random Llama with the default (SmolLM2) tokenizer; fully offline."""
    from tool_gym.agents.models import load_model

    return load_model("tiny", seed=seed)


def _record(i: int) -> dict:
    city = ["Paris", "Lyon", "Tokyo", "Oslo"][i % 4]
    return {
        "messages": [
            {"role": "system", "content": "Tools: get_forecast(city, date). Reply with tags."},
            {"role": "user", "content": f"High in {city} on 2026-06-0{i + 1}?"},
            {"role": "assistant", "content": f'<call>{{"name": "get_forecast", "arguments": '
                                             f'{{"city": "{city}"}}}}</call>'},
            {"role": "user", "content": f'[call 1] get_forecast -> {{"high_c": {10 + i}}}'},
            {"role": "assistant", "content": f"<answer>{10 + i}</answer>"},
        ],
        "outcome": {"success": True}, "split": "train",
    }


def _memorisable() -> list[dict]:
    return [_record(i) for i in range(4)]


@pytest.fixture(scope="module")
def lm():
    return tiny_lm()


def test_only_assistant_tokens_have_labels(lm):
    _, tok = lm
    records = generate_traces(TrialTeacher, "ToolMaster/Jokes-v0", n=3, seed=0, progress=False)
    for r in records + _memorisable():
        row = tokenize_conversation(r["messages"], tok)
        ids, labels = row["input_ids"], row["labels"]
        assert len(ids) == len(labels)
        # The ids are exactly the chat template's rendering of the whole episode, up to the
        # last end-of-turn token (a rollout ends there; the template adds a newline).
        assert tok.decode(ids) + "\n" == tok.apply_chat_template(r["messages"], tokenize=False)
        trained = tok.decode([t for t, lab in zip(ids, labels, strict=True)
                              if lab != IGNORE_INDEX])
        expected = "".join(m["content"] + tok.eos_token for m in r["messages"]
                           if m["role"] == "assistant")
        assert trained == expected
        # Every system, user and observation token is masked.
        masked = tok.decode([t for t, lab in zip(ids, labels, strict=True)
                             if lab == IGNORE_INDEX])
        for m in r["messages"]:
            if m["role"] != "assistant":
                assert m["content"] in masked
    ds = build_sft_dataset(_memorisable(), tok)
    assert set(ds.column_names) == {"input_ids", "labels"}


def test_deliberate_mistakes_can_be_left_out_of_the_loss(lm):
    _, tok = lm
    env_kwargs = {"max_plan_steps": 1}
    records = generate_traces(partial(TrialTeacher, trial_when="first_use"),
                              "ToolMaster/Unseen-v0", n=30, seed=0, env_kwargs=env_kwargs,
                              progress=False)
    with_mistakes = [r for r in records if r["mistakes"]]
    assert len(with_mistakes) >= 5
    for r in with_mistakes:
        for i in r["mistakes"]:  # a trial that fails, shown on purpose
            assert r["messages"][i]["role"] == "assistant" and "<trial>" in r["messages"][i]["content"]
            assert "ERROR" in r["messages"][i + 1]["content"]
    r = with_mistakes[0]
    masked = build_sft_dataset([r], tok, learn_mistakes=False)[0]
    full = build_sft_dataset([r], tok)[0]
    assert masked["input_ids"] == full["input_ids"]
    trained = tok.decode([t for t, lab in zip(masked["input_ids"], masked["labels"], strict=True)
                          if lab != IGNORE_INDEX])
    kept = [m["content"] for j, m in enumerate(r["messages"])
            if m["role"] == "assistant" and j not in r["mistakes"]]
    assert trained == "".join(c + tok.eos_token for c in kept)
    # golden traces have none, and old records without the key train as before
    golden = generate_traces(GoldenTeacher, "ToolMaster/Unseen-v0", n=3, progress=False)
    assert all(g["mistakes"] == [] for g in golden)
    old = {k: v for k, v in r.items() if k != "mistakes"}
    assert build_sft_dataset([old], tok, learn_mistakes=False)[0]["labels"] == full["labels"]


def test_repeated_call_bodies_can_be_left_out_of_the_loss(lm):
    """The real call after a trial that worked copies the trial; with its span untrained
    (what benchmarks/trace_lengths.py measures) the copied body is context, its thought and
    tags are still learned."""
    _, tok = lm
    records = generate_traces(partial(TrialTeacher, trial_when="first_use", mistake_prob=0.0),
                              "ToolMaster/Weather-v0", n=6, seed=0, progress=False)
    with_repeats = [r for r in records if repeated_calls(r["messages"])]
    assert len(with_repeats) >= 3
    for r in with_repeats:
        for j, [(a, b)] in repeated_calls(r["messages"]).items():
            body = r["messages"][j]["content"][a:b]
            previous = next(m["content"] for m in reversed(r["messages"][:j])
                            if m["role"] == "assistant")
            assert body.strip().startswith('{"name"') and body.strip() in previous
            assert "ERROR" not in r["messages"][j - 1]["content"]  # the trial worked
    r = next(r for r in with_repeats if len(repeated_calls(r["messages"])) == 1)
    ((j, [(a, b)]),) = repeated_calls(r["messages"]).items()
    masked = tokenize_conversation(r["messages"], tok, (), repeated_calls(r["messages"]))
    full = build_sft_dataset([r], tok)[0]
    assert masked["input_ids"] == full["input_ids"]  # the same ids, fewer labels
    trained = tok.decode([t for t, lab in zip(masked["input_ids"], masked["labels"], strict=True)
                          if lab != IGNORE_INDEX])
    content = r["messages"][j]["content"]
    everything = tok.decode([t for t, lab in zip(full["input_ids"], full["labels"], strict=True)
                             if lab != IGNORE_INDEX])
    assert content[:a] + content[b:] in trained  # thought and tags still learned
    # the body is learned once (in the trial), not twice
    assert (trained.count(content[a:b]), everything.count(content[a:b])) == (1, 2)
    assert trained.replace(content[:a] + content[b:], content) == everything
    # a changed call (the fix after a failed trial) is no repeat
    msgs = [{"role": "assistant", "content": '<trial>{"name": "a", "arguments": {}}</trial>'},
            {"role": "user", "content": "[trial 1] a -> ERROR: use b"},
            {"role": "assistant", "content": '<think>Fix.</think>\n<call>{"name": "b", '
                                             '"arguments": {}}</call>'},
            {"role": "user", "content": "[call 1] b -> 1"},
            {"role": "assistant", "content": '<call> {"name": "b", "arguments": {}}</call>'}]
    assert repeated_calls(msgs) == {4: [(6, 37)]}  # the body as written, space and all


def test_sft_trainer_keeps_our_labels(lm, tmp_path):
    from trl import SFTConfig, SFTTrainer

    model, tok = lm
    ds = build_sft_dataset(_memorisable(), tok)
    config = SFTConfig(output_dir=str(tmp_path), bf16=False, report_to="none", max_length=64)
    trainer = SFTTrainer(model=model, args=config, train_dataset=ds, processing_class=tok)
    prepared = trainer.train_dataset
    by_ids = {tuple(r["input_ids"][:64]): r["labels"][:64] for r in ds}
    for row in prepared:
        assert row["labels"] == by_ids[tuple(row["input_ids"])]
        assert IGNORE_INDEX in row["labels"]


def test_ids_match_the_rollout_tokenisation(lm):
    from tool_gym.agents.chat_format import ChatFormat

    _, tok = lm
    fmt = ChatFormat(tok)
    records = generate_traces(TrialTeacher, "ToolMaster/Unseen-v0", n=3, seed=1, progress=False)
    for r in records:
        msgs = r["messages"]
        ids = fmt.prompt_ids(msgs[:2])
        for j in range(2, len(msgs)):
            if msgs[j]["role"] == "assistant":
                ids += fmt.encode(msgs[j]["content"]) + [fmt.end_of_turn]
            else:
                ids += fmt.observation_ids(msgs[j]["content"], closed=True)
        assert tokenize_conversation(msgs, tok)["input_ids"] == ids  # nothing after the reply


def test_prompt_longer_than_max_length_is_an_error(lm):
    _, tok = lm
    with pytest.raises(ValueError, match="raise max_length"):
        build_sft_dataset(_memorisable(), tok, max_length=8)


def test_template_that_rewrites_history_is_rejected(lm):
    _, tok = lm
    last_two = ("{% for message in messages[-2:] %}{{ message['role'] + ': ' + message['content']"
                " + '\n' }}{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}")
    saved = tok.chat_template
    tok.chat_template = last_two
    try:
        with pytest.raises(ChatTemplateError, match="prefix-preserving"):
            tokenize_conversation(_record(0)["messages"] + _record(1)["messages"][2:], tok)
    finally:
        tok.chat_template = saved


def test_split_records_holds_out_episodes():
    records = [_record(i) | {"task_id": str(i)} for i in range(20)]
    train, held = split_records(records, 0.1, seed=0)
    assert len(held) == 2 and len(train) == 18
    assert {r["task_id"] for r in train}.isdisjoint(r["task_id"] for r in held)
    assert split_records(records, 0.1, seed=0) == (train, held)
    assert split_records(records[:1], 0.5) == (records[:1], [])


def test_sft_lowers_loss_and_saves_adapter(tmp_path):
    model, tok = tiny_lm()
    out = tmp_path / "sft"
    result = train_sft(model, tok, _memorisable()[:1], out, max_steps=10, learning_rate=1e-2,
                       grad_accum=1, logging_steps=1, save_steps=100, eval_fraction=0.0,
                       lora_r=8, lora_alpha=16, lora_dropout=0.0, max_length=256,
                       base_model="tiny", data_source="memorisable set")
    losses = [h["loss"] for h in result.log_history if "loss" in h]
    assert len(losses) == 10
    first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
    # A random 64-wide model with a frozen 49k-token head learns slowly; the trend is clear.
    assert last < first - 0.25, losses
    assert result.global_step == 10 and result.eval_loss is None
    for name in ("adapter_model.safetensors", "adapter_config.json", "README.md"):
        assert (out / name).is_file(), name
    card = (out / "README.md").read_text()
    assert "base_model: tiny" in card and "memorisable set" in card and "| 10 |" in card
    summary = json.loads((out / "sft_summary.json").read_text())
    assert summary["global_step"] == 10 and summary["train_loss"] == pytest.approx(losses[-1])


class _Crash(TrainerCallback):
    def __init__(self, at: int):
        self.at = at

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at:
            raise KeyboardInterrupt("simulated crash")


class _Steps(TrainerCallback):
    def __init__(self):
        self.seen: list[int] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.seen.append(state.global_step)


def test_resume_from_an_interrupted_checkpoint(tmp_path):
    out = tmp_path / "run"
    records = _memorisable()
    common = dict(max_steps=3, save_steps=1, grad_accum=1, learning_rate=1e-3,
                  logging_steps=1, eval_fraction=0.0, max_length=256, lora_r=4)
    model, tok = tiny_lm()
    with pytest.raises(KeyboardInterrupt):
        train_sft(model, tok, records, out, callbacks=[_Crash(2)], **common)
    assert last_checkpoint(out).endswith("checkpoint-1")  # the crash came before saving 2
    assert not (out / "adapter_model.safetensors").exists()
    steps = _Steps()
    model, tok = tiny_lm()
    result = train_sft(model, tok, records, out, resume=True, callbacks=[steps], **common)
    assert result.resumed_from.endswith("checkpoint-1")
    assert steps.seen == [2, 3]  # the global step continues after the checkpoint
    assert result.global_step == 3
    assert last_checkpoint(out).endswith("checkpoint-3")
    assert "checkpoint-1" in (out / "README.md").read_text()


def test_resume_without_checkpoint_starts_fresh(tmp_path):
    model, tok = tiny_lm()
    result = train_sft(model, tok, _memorisable(), tmp_path / "fresh", max_steps=1,
                       grad_accum=1, eval_fraction=0.0, resume=True, max_length=256)
    assert result.resumed_from is None and result.global_step == 1
