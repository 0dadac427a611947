"""GRPO in the envs on the tiny model: weights move, env tokens are masked, resume works."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from tool_gym.agents.grpo import GRPOSettings, TaskKey, read_log, train_grpo  # noqa: E402


def _alternating_reward(prompts, completions, **_):
    """Differs inside every group (by position), so advantages are non-zero for any model."""
    return [float(i % 2) for i in range(len(completions))]


def _settings(**kw):
    base = dict(envs=[("ToolMaster/Weather-v0", {})], steps=1, tasks_per_step=1, num_generations=2,
                max_new_tokens=12, max_turns=2, save_steps=1, max_completion_length=200,
                learning_rate=1e-2, beta=0.0, temperature=1.0, seed=3)
    base.update(kw)
    return GRPOSettings(**base)


@pytest.fixture
def fresh_tiny(tiny):
    """A new tiny model per test: peft injects LoRA layers into the model it is given."""
    from tool_gym.agents.models import load_model

    return load_model("tiny")


def test_grpo_step_changes_lora_weights_and_masks_env_tokens(fresh_tiny, tmp_path, monkeypatch):
    from trl import GRPOTrainer

    model, tok = fresh_tiny
    captured = []
    original = GRPOTrainer._compute_loss

    def spy(self, model, inputs):
        captured.append({k: inputs[k].detach().clone() for k in ("completion_ids",
                                                                  "completion_mask",
                                                                  "tool_mask")})
        return original(self, model, inputs)

    monkeypatch.setattr(GRPOTrainer, "_compute_loss", spy)
    result = train_grpo(model, tok, tmp_path / "grpo", _settings(),
                        extra_rewards=[(_alternating_reward, 1.0)])
    assert result.global_step == 1
    peft_model = result.model
    lora = {n: p for n, p in peft_model.named_parameters() if "lora_B" in n}
    assert lora and any(p.abs().sum() > 0 for p in lora.values()), "LoRA B stayed at zero"
    assert captured, "the loss was never computed"
    batch = captured[0]
    mask = batch["tool_mask"]
    assert (mask == 0).any(), "no env tokens in a two-turn episode"
    # env tokens are exactly the wrapped observations: they start with the end-of-turn id
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    ids = batch["completion_ids"]
    for row in range(ids.shape[0]):
        zeros = (mask[row] == 0).nonzero().flatten().tolist()
        valid = batch["completion_mask"][row].bool()
        zeros = [z for z in zeros if valid[z]]
        if zeros:
            assert ids[row, zeros[0]].item() == im_end or ids[row, zeros[0] - 1].item() == im_end
    log = read_log(tmp_path / "grpo")
    assert log and log[0]["step"] == 1 and log[0]["reward"] is not None
    # where a step's time went: its rollouts, within the whole step
    assert 0 < log[0]["rollout_s"] <= log[0]["step_s"]
    assert (tmp_path / "grpo" / "grpo_curve.png").exists()


def test_grpo_resume_continues_the_step_count(fresh_tiny, tmp_path):
    model, tok = fresh_tiny
    out = tmp_path / "grpo"
    first = train_grpo(model, tok, out, _settings(steps=2), extra_rewards=[(_alternating_reward, 1.0)])
    assert first.global_step == 2 and (out / "checkpoint-2").exists()
    from tool_gym.agents.models import load_model

    fresh, tok2 = load_model("tiny")
    second = train_grpo(fresh, tok2, out, _settings(steps=3), resume=True,
                        extra_rewards=[(_alternating_reward, 1.0)])
    assert second.resumed_from and second.resumed_from.endswith("checkpoint-2")
    assert second.global_step == 3
    assert [r["step"] for r in read_log(out)] == [1, 2, 3]
    assert [r["step"] for r in second.log] == [1, 2, 3]
    # step 3 as if interrupted before its checkpoint, then stopped for good at step 2: the
    # CSV still has step 3, but the saved weights are step 2's, and so is the report
    import shutil

    shutil.rmtree(out / "checkpoint-3")
    third = train_grpo(*load_model("tiny"), out, _settings(steps=2), resume=True,
                       extra_rewards=[(_alternating_reward, 1.0)])
    assert third.global_step == 2 and [r["step"] for r in third.log] == [1, 2]


def test_grpo_accumulates_micro_batches_over_whole_groups(fresh_tiny, tmp_path, monkeypatch):
    """Two groups of four in micro-batches of two: one rollout call of all eight
    episodes per step (groups stay whole), gradients accumulated over four passes."""
    from tool_gym.agents.grpo import make_rollout_func

    model, tok = fresh_tiny
    calls = []
    real = make_rollout_func

    def counting(tokenizer, settings):
        func = real(tokenizer, settings)

        def wrapped(prompts, trainer):
            calls.append(len(prompts))
            return func(prompts, trainer)
        return wrapped

    monkeypatch.setattr("tool_gym.agents.grpo.make_rollout_func", counting)
    from transformers import TrainerCallback

    seen = {}

    class Args(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):
            seen["checkpointing"] = args.gradient_checkpointing

    result = train_grpo(model, tok, tmp_path / "grpo",
                        _settings(tasks_per_step=2, num_generations=4, micro_batch_size=2,
                                  max_new_tokens=4, gradient_checkpointing=False),
                        extra_rewards=[(_alternating_reward, 1.0)], callbacks=[Args()])
    assert result.global_step == 1
    assert calls == [8]
    assert seen == {"checkpointing": False}  # the setting reaches TRL (its default is on)
    lora = [p for n, p in result.model.named_parameters() if "lora_B" in n]
    assert any(p.abs().sum() > 0 for p in lora)


def _one_step(tmp_path, name, monkeypatch, **options):
    """One GRPO step from a fresh tiny model: what the loss saw, the logged loss, the LoRA."""
    from trl import GRPOTrainer

    from tool_gym.agents.models import load_model

    model, tok = load_model("tiny")
    seen = []
    original = GRPOTrainer._compute_loss

    def spy(self, model, inputs):
        seen.append({k: inputs[k].detach().clone() for k in ("completion_ids", "tool_mask")})
        return original(self, model, inputs)

    monkeypatch.setattr(GRPOTrainer, "_compute_loss", spy)
    result = train_grpo(model, tok, tmp_path / name, _settings(num_generations=4,
                        micro_batch_size=2, **options),
                        extra_rewards=[(_alternating_reward, 1.0)])
    monkeypatch.setattr(GRPOTrainer, "_compute_loss", original)
    lora = [p for n, p in result.model.named_parameters() if "lora_B" in n]
    # bf16 keeps frozen weights in bf16 while training only
    assert all(p.dtype == torch.float32 for p in result.model.parameters())
    return seen, read_log(tmp_path / name)[0]["loss"], lora, tok


def test_grpo_cost_options_train_on_the_same_step_with_the_same_loss(tmp_path, monkeypatch,
                                                                     tiny):
    """``beta=0`` drops the reference pass and ``gradient_checkpointing=False`` the
    recomputation: at step 1 the policy is the reference policy, so the KL term is zero
    and the step must play the same episodes and log the same loss as TRL's old default;
    the LoRA weights move and env tokens stay masked in every variant, bf16 included.
    Without checkpointing, the update runs each group's prompt once (shared_prompt)."""
    from tool_gym.agents import shared_prompt

    shared = []
    once = shared_prompt.completion_logps
    monkeypatch.setattr(shared_prompt, "completion_logps",
                        lambda *a, **k: shared.append(a[1].size(0)) or once(*a, **k))
    old, old_loss, old_lora, tok = _one_step(tmp_path, "kl", monkeypatch, beta=0.04,
                                             gradient_checkpointing=True)
    assert shared == []  # checkpointed layers drop a cache: TRL's own forward
    new, new_loss, new_lora, _ = _one_step(tmp_path, "fast", monkeypatch, beta=0.0,
                                           gradient_checkpointing=False)
    assert shared == [2, 2]  # both micro-batches of the update
    half, half_loss, half_lora, _ = _one_step(tmp_path, "bf16", monkeypatch, beta=0.0,
                                              gradient_checkpointing=False, bf16=True)
    assert len(old) == len(new) == 2  # two micro-batches of two episodes
    for a, b in zip(old, new, strict=True):
        assert torch.equal(a["completion_ids"], b["completion_ids"])
        assert torch.equal(a["tool_mask"], b["tool_mask"])
    assert old_loss == pytest.approx(new_loss, rel=1e-4, abs=1e-7)
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    for batches, lora in ((old, old_lora), (new, new_lora), (half, half_lora)):
        assert lora and any(p.abs().sum() > 0 for p in lora), "LoRA B stayed at zero"
        for batch in batches:
            mask, ids = batch["tool_mask"], batch["completion_ids"]
            assert (mask == 0).any(), "no env tokens in a two-turn episode"
            for row in range(ids.shape[0]):  # masked runs start at an end of turn
                zeros = (mask[row] == 0).nonzero().flatten().tolist()
                if zeros:
                    assert im_end in (ids[row, zeros[0]].item(), ids[row, zeros[0] - 1].item())
    assert half_loss is not None
    assert all(p.dtype == torch.float32 for p in half_lora)  # bf16: the adapter trains in fp32


def test_shared_prompt_gives_trls_logps_entropies_and_gradients(fresh_tiny):
    """Each distinct prompt through the model once (rows of two prompts, left-padded to
    different lengths, with a column that is padding in every row at each end) gives the
    log-probs, entropies and LoRA gradients of TRL's whole-row forward."""
    from peft import LoraConfig, get_peft_model
    from trl.trainer.utils import add_fused_lm_head

    from tool_gym.agents.shared_prompt import can_share_prompt, completion_logps

    model, tok = fresh_tiny
    assert can_share_prompt(model)
    add_fused_lm_head(model, outputs=("log_probs", "entropy"))
    model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear",
                                             init_lora_weights=False))
    gen = torch.Generator().manual_seed(0)
    pad = tok.pad_token_id
    prompts = [torch.randint(5, 1000, (n,), generator=gen) for n in (9, 6)]
    plen, clen = 11, 8  # one all-padding column before the prompts and after the completions
    rows, masks = [], []
    for which, n_completion in ((0, 7), (1, 3), (0, 5), (1, 7), (0, 1)):
        p = prompts[which]
        c = torch.randint(5, 1000, (n_completion,), generator=gen)
        rows.append(torch.cat([torch.full((plen - len(p),), pad), p, c,
                               torch.full((clen - n_completion,), pad)]))
        masks.append(torch.cat([torch.zeros(plen - len(p)), torch.ones(len(p) + n_completion),
                                torch.zeros(clen - n_completion)]).long())
    ids, mask = torch.stack(rows), torch.stack(masks)
    weights = torch.randn(ids.size(0), clen, generator=gen)

    def lora_grads(logps):
        model.zero_grad()
        (logps * weights).sum().backward()
        return [p.grad.clone() for n, p in model.named_parameters() if "lora_" in n]

    labels = ids.masked_fill(mask == 0, -100)  # TRL's _get_per_token_logps_and_entropies
    labels[:, :-clen] = -100
    full = model(input_ids=ids, attention_mask=mask, labels=labels, fused_lm_head=True)
    full_logps, full_entropy = full.log_probs[:, -clen:], full.entropy[:, -clen:]
    full_grads = lora_grads(full_logps)
    logps, entropy = completion_logps(model, ids, mask, clen, compute_entropy=True)
    grads = lora_grads(logps)
    assert logps.shape == full_logps.shape == (5, clen)
    assert (logps[mask[:, -clen:] == 0] == 0).all()
    assert torch.allclose(logps, full_logps, atol=1e-5)
    assert torch.allclose(entropy, full_entropy, atol=1e-5)
    assert any(g.abs().sum() > 0 for g in grads)
    for a, b in zip(grads, full_grads, strict=True):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)


def test_frozen_linears_in_bf16_changes_nothing_under_autocast(fresh_tiny):
    """The base weights stored in bf16 give the very logits bf16 autocast gave with fp32
    weights; the tied embedding stays fp32; the fp32 originals come back."""
    from tool_gym.agents.grpo import frozen_linears_in_bf16

    model, _ = fresh_tiny
    ids = torch.randint(5, 1000, (2, 12), generator=torch.Generator().manual_seed(1))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        before = model(input_ids=ids).logits
        kept = frozen_linears_in_bf16(model)
        after = model(input_ids=ids).logits
    assert kept and all(w.dtype == torch.bfloat16 for w, _ in kept.values())
    assert model.get_input_embeddings().weight.dtype == torch.float32
    assert torch.equal(before, after)
    for w, fp32 in kept.values():
        w.data = fp32
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_task_keys_round_trip():
    key = TaskKey("ToolMaster/Seen-v0", 7, {"split": "train"})
    assert TaskKey.loads(key.dumps()) == key
    assert TaskKey.loads([{"role": "user", "content": key.dumps()}]) == key


def test_rollout_func_plays_a_step_of_several_envs_in_one_batch(fresh_tiny, monkeypatch):
    """Groups from two envs (the presets alternate Seen and Drift tasks) are played in one
    generation batch, each episode on an env of its own key, in the order of the prompts."""
    from types import SimpleNamespace

    import tool_gym.agents.rollout as rollout_module
    from tool_gym.agents.grpo import make_rollout_func

    model, tok = fresh_tiny
    batches = []
    real = rollout_module.rollout

    def counting(model, tokenizer, envs, seeds, **kw):
        batches.append(len(envs))
        assert len({id(e) for e in envs}) == len(envs), "an env was given two episodes"
        return real(model, tokenizer, envs, seeds, **kw)

    monkeypatch.setattr(rollout_module, "rollout", counting)
    keys = [TaskKey("ToolMaster/Weather-v0", 5), TaskKey("ToolMaster/Units-v0", 9),
            TaskKey("ToolMaster/Weather-v0", 11)]
    prompts = [k.dumps() for k in keys for _ in range(2)]  # groups of two, as TRL repeats
    trainer = SimpleNamespace(accelerator=SimpleNamespace(unwrap_model=lambda m: m), model=model)
    func = make_rollout_func(tok, _settings(max_new_tokens=4))
    out = func(prompts, trainer)
    assert batches == [6]
    episodes = func.last["episodes"]
    assert [(e.domain, e.seed) for e in episodes] == [
        ("weather", 5), ("weather", 5), ("units", 9), ("units", 9), ("weather", 11),
        ("weather", 11)]
    assert len(out["completion_ids"]) == 6
    func(prompts, trainer)  # the next step reuses the same envs
    assert batches == [6, 6]


def test_grpo_log_begun_by_an_older_version_keeps_its_columns(tmp_path):
    """A resumed run appends to the CSV it finds: rows follow that file's header."""
    from types import SimpleNamespace

    from tool_gym.agents.grpo import _log_callback

    path = tmp_path / "grpo_log.csv"
    path.write_text("step,reward,success,loss,kl,completion_length\n1,0.5,0.0,0.1,0.0,40\n")
    log = _log_callback(path, {"rollout_s": 3.0})
    log.on_log(None, SimpleNamespace(global_step=2), None,
               logs={"reward": 1.0, "rewards/success/mean": 1.0, "loss": 0.2})
    lines = path.read_text().splitlines()
    assert lines[0] == "step,reward,success,loss,kl,completion_length"
    assert len(lines) == 3 and lines[2].count(",") == 5
    assert [r["reward"] for r in read_log(tmp_path)] == [0.5, 1.0]
    fresh = tmp_path / "new"
    fresh.mkdir()
    _log_callback(fresh / "grpo_log.csv", {"rollout_s": 3.0}).on_log(
        None, SimpleNamespace(global_step=1), None, logs={"reward": 1.0})
    assert read_log(fresh)[0]["rollout_s"] == 3.0
