"""Policy and rollouts: prompt size, exact token ids across turns, masks, log-probs, batching."""

from __future__ import annotations

import statistics

import gymnasium as gym
import pytest

torch = pytest.importorskip("torch")

import tool_gym  # noqa: E402,F401
from tool_gym.agents.policy import LLMPolicy, ScriptedPolicy, make_policy  # noqa: E402
from tool_gym.agents.rollout import (  # noqa: E402
    ChatFormat,
    SamplingConfig,
    episodes_to_trl,
    make_envs,
    rollout,
)
from tool_gym.oracle import run_episode  # noqa: E402

OPEN_USER = "<|im_end|>\n<|im_start|>user\n"
GEN_PROMPT = "<|im_end|>\n<|im_start|>assistant\n"


def encode(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


def runs(mask):
    """(start, end, value) of each run of equal mask values."""
    out, start = [], 0
    for i in range(1, len(mask) + 1):
        if i == len(mask) or mask[i] != mask[start]:
            out.append((start, i, mask[start]))
            start = i
    return out


def teacher_forced_logprobs(model, ids, temperature=1.0):
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, :-1].float() / temperature
    return torch.log_softmax(logits, -1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0]


def test_seen_prompt_under_400_tokens(tiny):
    """A typical ToolMaster/Seen-v0 test prompt (compact catalogue) fits in 400 tokens."""
    _, tok = tiny
    fmt = ChatFormat(tok)
    env = gym.make("ToolMaster/Seen-v0", split="test", catalogue="compact")
    lengths: dict[str, list[int]] = {}
    for seed in range(60):
        _, info = env.reset(seed=seed)
        lengths.setdefault(info["domain"], []).append(len(fmt.prompt_ids(info["messages"])))
    everything = [n for v in lengths.values() for n in v]
    per_domain = {d: statistics.median(v) for d, v in sorted(lengths.items())}
    assert statistics.median(everything) < 400, f"median prompt tokens per domain: {per_domain}"


def test_chat_format_wraps_observations_with_chatml(tiny):
    _, tok = tiny
    fmt = ChatFormat(tok)
    assert fmt.between_text == OPEN_USER and fmt.after_text == GEN_PROMPT
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    assert fmt.end_of_turn == im_end and im_end in fmt.stop_ids
    obs = '[call 1] get_forecast -> {"city": "Paris", "high_c": 21}\n[turn 1/8]'
    assert fmt.observation_ids(obs, closed=False) == encode(tok, OPEN_USER + obs + GEN_PROMPT)
    assert fmt.observation_ids(obs, closed=True) == encode(tok, OPEN_USER + obs + GEN_PROMPT)[1:]


def check_episode(ep, model, tok, temperature):
    fmt = ChatFormat(tok)
    assert ep.prompt_ids == encode(tok, fmt.render(ep.messages))
    assert len(ep.completion_ids) == len(ep.env_mask) == len(ep.logprobs)
    segments = runs(ep.env_mask)
    model_runs = [s for s in segments if s[2] == 1]
    env_runs = [s for s in segments if s[2] == 0]
    assert len(model_runs) == ep.turns == len(ep.actions) == len(ep.observations)
    assert len(env_runs) == ep.turns - 1 and segments[-1][2] == 1  # ends on the model's turn
    for (a, b, _), action in zip(model_runs, ep.actions, strict=True):
        assert tok.decode(ep.completion_ids[a:b], skip_special_tokens=True) == action
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    for (a, b, _), (_, mb, _), obs in zip(env_runs, model_runs, ep.observations, strict=False):
        closed = ep.completion_ids[mb - 1] == im_end
        text = (OPEN_USER[len("<|im_end|>"):] if closed else OPEN_USER) + obs + GEN_PROMPT
        assert ep.completion_ids[a:b] == encode(tok, text)  # the observation, tokenised once
        assert all(ep.logprobs[i] == 0.0 for i in range(a, b))
    ids = ep.prompt_ids + ep.completion_ids
    tf = teacher_forced_logprobs(model, ids, temperature)[len(ep.prompt_ids) - 1:]
    got = torch.tensor(ep.logprobs)
    mask = torch.tensor(ep.env_mask).bool()
    assert torch.allclose(tf[mask], got[mask], atol=1e-4), (tf[mask] - got[mask]).abs().max()


def test_rollout_token_ids_are_exact_across_turns(tiny):
    model, tok = tiny
    envs = make_envs("ToolMaster/Weather-v0", 3, max_turns=3)
    gen = SamplingConfig(temperature=0.7, top_p=0.9, max_new_tokens=6, seed=0)
    stats: dict = {}
    episodes = rollout(model, tok, envs, seeds=[0, 1, 2, 3, 4], gen=gen, stats=stats)
    assert [e.seed for e in episodes] == [0, 1, 2, 3, 4]  # more seeds than envs: refilled
    for ep in episodes:
        assert ep.turns == 3 and ep.stop_reason == "env_limit" and not ep.success
        assert ep.reward == pytest.approx(sum(ep.reward_terms.values()))
        check_episode(ep, model, tok, temperature=0.7)
    assert stats["model_tokens"] == sum(e.model_tokens for e in episodes) == stats[
        "generated_tokens"]


def test_cache_reuse_gives_the_same_tokens_as_reencoding(tiny):
    model, tok = tiny
    """Shared prefixes, repeated prompts (a GRPO group) and re-padded caches change nothing."""
    envs = make_envs("ToolMaster/Seen-v0", 3, max_turns=3)
    seeds = [5, 5, 6, 7, 5]
    kept = rollout(model, tok, envs, seeds, gen=SamplingConfig(temperature=0, max_new_tokens=5))
    fresh = rollout(model, tok, envs, seeds, gen=SamplingConfig(temperature=0, max_new_tokens=5,
                                                                reuse_cache=False))
    assert kept[0].completion_ids == kept[1].completion_ids == kept[4].completion_ids
    for a, b in zip(kept, fresh, strict=True):
        assert a.prompt_ids == b.prompt_ids and a.completion_ids == b.completion_ids
        assert a.env_mask == b.env_mask
        assert max(abs(x - y) for x, y in zip(a.logprobs, b.logprobs, strict=True)) < 1e-4


class ForceMessages:
    """Logits processor: every row writes ``messages[turn]`` (its canonical tokens + <|im_end|>)."""

    def __init__(self, tok, messages):
        self.im_start = tok.convert_tokens_to_ids("<|im_start|>")
        self.header = len(encode(tok, "<|im_start|>assistant\n"))
        self.ids = [encode(tok, m) + [tok.convert_tokens_to_ids("<|im_end|>")] for m in messages]

    def __call__(self, input_ids, scores):
        forced = torch.full_like(scores, float("-inf"))
        for i, row in enumerate(input_ids.tolist()):
            starts = [j for j, t in enumerate(row) if t == self.im_start]
            turn = (len(starts) - 3) // 2
            pos = len(row) - (starts[-1] + self.header)
            forced[i, self.message(row, starts, turn, pos)[pos]] = 0.0
        return forced

    def message(self, row, starts, turn, pos):
        """The token ids the row's current message is forced to."""
        return self.ids[turn]


def test_forced_messages_equal_the_full_chat_template(tiny):
    """Model tokens + env tokens, in order, equal the chat template of the whole conversation."""
    model, tok = tiny
    messages = ['<call>{"name": "list_cities", "arguments": {"country": "France"}}</call>',
                "<think>the first one</think><answer>Paris</answer>"]
    env = gym.make("ToolMaster/Weather-v0")
    (ep,) = rollout(model, tok, [env], [3], gen=SamplingConfig(max_new_tokens=40),
                    logits_processors=[ForceMessages(tok, messages)])
    assert ep.actions == messages and ep.stop_reason == "answer" and ep.cut_actions == 0
    conversation = list(ep.messages)
    for action, obs in zip(ep.actions, ep.observations, strict=True):
        conversation += [{"role": "assistant", "content": action}, {"role": "user", "content": obs}]
    full = encode(tok, tok.apply_chat_template(conversation[:-1], tokenize=False))
    assert ep.prompt_ids + ep.completion_ids == full[:-1]  # all but the template's final "\n"
    forced = ForceMessages(tok, messages).ids
    assert runs(ep.env_mask)[1][2] == 0 and sum(ep.env_mask) == sum(len(m) for m in forced)
    check_episode(ep, model, tok, temperature=1.0)


def test_llm_policy_act_matches_batched_rollout(tiny):
    model, tok = tiny
    policy = make_policy(model, tok, temperature=0, max_new_tokens=5)
    env = gym.make("ToolMaster/Weather-v0", max_turns=2)
    single = run_episode(env, policy, seed=11)
    (batched,) = policy.rollout([gym.make("ToolMaster/Weather-v0", max_turns=2)], [11])
    assert single["actions"] == batched.actions
    assert single["return"] == pytest.approx(batched.reward)


def test_vector_env_and_trl_batch(tiny):
    model, tok = tiny
    vec = gym.vector.SyncVectorEnv([lambda: gym.make("ToolMaster/Weather-v0", max_turns=2)] * 2)
    episodes = LLMPolicy(model, tok, SamplingConfig(max_new_tokens=3)).rollout(vec, [0, 1],
                                                                               seed=1)
    batch = episodes_to_trl(episodes)
    assert set(batch) >= {"prompt_ids", "completion_ids", "logprobs", "env_mask"}
    for key in ("completion_ids", "logprobs", "env_mask"):
        assert [len(x) for x in batch[key]] == [len(e.completion_ids) for e in episodes]
    assert batch["env_reward"] == [e.reward for e in episodes]


def test_context_limit_ends_the_episode(tiny):
    model, tok = tiny
    envs = make_envs("ToolMaster/Weather-v0", 1)
    (ep,) = rollout(model, tok, envs, [0], gen=SamplingConfig(max_new_tokens=4,
                                                              max_context_tokens=440))
    assert ep.stop_reason == "context" and ep.truncated and not ep.success
    assert len(ep.prompt_ids) + len(ep.completion_ids) <= 440


def test_scripted_policy():
    env = gym.make("ToolMaster/Weather-v0")
    script = ScriptedPolicy({"Fahrenheit": ["<call>{\"name\": \"nope\"}</call>",
                                            "<answer>1</answer>"]}, default="<answer>0</answer>")
    for seed in range(30):
        result = run_episode(env, script, seed=seed)
        obs = env.unwrapped.episode.transcript[0][1]
        if "Fahrenheit" in obs:
            assert result["actions"] == script.script["Fahrenheit"]
        else:
            assert result["actions"] == ["<answer>0</answer>"]
    fixed = ScriptedPolicy(["a", "b"], default="c")
    fixed.begin("x", {})
    assert [fixed.act("x") for _ in range(4)] == ["a", "b", "c", "c"]
    echo = ScriptedPolicy(lambda conv: f"<answer>{len(conv)}</answer>")
    assert run_episode(env, echo, seed=0)["actions"] == ["<answer>1</answer>"]


def test_thought_budget_closes_a_looping_thought(tiny):
    """A ThoughtBudget probe forces </think> after exactly that many thought tokens; short
    thoughts and messages without one are left as they are."""
    from tool_gym.agents.probes import ThoughtBudget

    model, tok = tiny
    loop = "<think>" + " loop" * 40 + "</think><answer>Paris</answer>"
    short = "<think>the first one</think><answer>Paris</answer>"

    def play(message, budget):
        env = gym.make("ToolMaster/Weather-v0")
        gen = SamplingConfig(max_new_tokens=30)
        probes = [] if budget is None else [ThoughtBudget(budget)]
        (ep,) = rollout(model, tok, [env], [3], gen=gen, max_turns=1,
                        logits_processors=[ForceMessages(tok, [message])], probes=probes)
        return ep

    free, capped = play(loop, None), play(loop, 5)
    assert free.actions[0].startswith("<think>" + " loop" * 20) and free.forced_thoughts == 0
    assert "</think>" not in free.actions[0] and free.cut_actions == 1
    assert capped.actions[0].startswith("<think>" + " loop" * 5 + "</think>")
    assert capped.forced_thoughts == 1 and len(capped.logprobs) == len(capped.completion_ids)
    assert play(short, 5).actions == [short] and play(short, 5).forced_thoughts == 0
    with pytest.raises(ValueError, match="max_thought_tokens"):
        ThoughtBudget(0)


def test_thought_budget_leaves_ended_messages_alone(tiny):
    """A row whose message ended inside its thought (padding follows) is not forced."""
    from tool_gym.agents.probes import thought_budget

    _, tok = tiny
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    prompt = encode(tok, "<|im_start|>assistant\n")
    thought = encode(tok, "<think>" + " loop" * 6)
    rows = torch.tensor([prompt + thought + [eos, eos], prompt + thought + encode(tok, " loop") * 2])
    budget = thought_budget(tok, len(prompt), 5, [eos])
    scores = budget(rows, torch.zeros(2, len(tok)))
    close = encode(tok, "</think>")
    assert budget.forced == {1}
    assert int(scores[1].argmax()) == close[0] and torch.isinf(scores[1]).sum() == len(tok) - 1
    assert not torch.isinf(scores[0]).any()


class ForceAttempts(ForceMessages):
    """Like :class:`ForceMessages`, but ``messages[turn]`` is a list: the k-th message
    generated from the same conversation (a resample) is its k-th entry."""

    def __init__(self, tok, messages):
        super().__init__(tok, [m for ms in messages for m in ms])
        flat = iter(self.ids)
        self.by_turn = [[next(flat) for _ in ms] for ms in messages]
        self.attempts: dict[tuple[int, ...], int] = {}

    def message(self, row, starts, turn, pos):
        key = tuple(row[starts[0]:starts[-1]])  # the conversation so far, without padding
        if pos == 0:
            self.attempts[key] = self.attempts.get(key, -1) + 1
        options = self.by_turn[turn]
        return options[min(self.attempts[key], len(options) - 1)]


def test_resends_of_failed_calls_are_counted_and_resampled(tiny):
    from tool_gym.agents.probes import ResampleResends, resends_failed_call

    model, tok = tiny
    fail = '<trial>{"name": "no_such_tool", "arguments": {}}</trial>'
    other = ('<think>Fix: `no_such_tool` -> `list_cities`.</think>'
             '<trial>{"name": "list_cities", "arguments": {}}</trial>')
    answer = "<answer>Paris</answer>"
    error = "[trial 1] no_such_tool -> ERROR: unknown tool\n[turn 1/8]"
    assert resends_failed_call(fail, error, "<think>again</think>" + fail)
    assert not resends_failed_call(fail, error, other)
    assert not resends_failed_call(fail, "[trial 1] no_such_tool -> {}", fail)  # it worked
    assert not resends_failed_call("<answer>x</answer>", error, fail)  # nothing was called

    stats = {}

    def play(messages, resample_resends=0):
        env = gym.make("ToolMaster/Weather-v0")
        probes = [ResampleResends(resample_resends)] if resample_resends else []
        (ep,) = rollout(model, tok, [env], [3],
                        gen=SamplingConfig(temperature=0, max_new_tokens=64),
                        logits_processors=[ForceAttempts(tok, messages)], stats=stats,
                        probes=probes)
        return ep

    # played as sampled: the resend of the failed trial is counted
    plain = play([[fail], [fail], [answer]])
    assert plain.actions == [fail, fail, answer] and "ERROR" in plain.observations[0]
    assert (plain.resends, plain.resampled) == (1, 0)
    # with resampling, the second attempt at turn 2 replaces the resend; the next turn is
    # generated from the kept message (caches included), exactly as if it had been sent
    fixed = play([[fail], [fail, other], [answer]], resample_resends=2)
    assert fixed.actions == [fail, other, answer]
    assert (fixed.resends, fixed.resampled) == (0, 1)
    assert stats["calls"] == 4  # three messages and one resample
    direct = play([[fail], [other], [answer]])
    assert fixed.completion_ids == direct.completion_ids and fixed.env_mask == direct.env_mask
    last = [i for i, m in enumerate(direct.env_mask) if m][-len(encode(tok, answer)) - 1:]
    assert max(abs(fixed.logprobs[i] - direct.logprobs[i]) for i in last) < 1e-4
    # a resample that resends again is not kept: the tries run out and the message stays
    stuck = play([[fail], [fail, fail], [answer]], resample_resends=1)
    assert stuck.actions == [fail, fail, answer] and (stuck.resends, stuck.resampled) == (1, 0)
    with pytest.raises(ValueError, match="resample"):
        ResampleResends(1, temperature=0)


def test_evaluations_with_probes_give_the_transcripts_they_gave_as_sampling_fields(
        tiny, tmp_path):
    """Each probe, and both together, evaluate as they did when they were SamplingConfig
    fields: tests/data/probe_evaluations.json was written by the code at 17925af
    (``SamplingConfig(max_thought_tokens=..., resample_resends=...)``) on the same forced
    conversations, three tasks in batches of two."""
    import json
    from pathlib import Path

    from tool_gym.agents.evaluate import evaluate
    from tool_gym.agents.probes import eval_probes

    model, tok = tiny
    short = '<think>check</think><trial>{"name": "list_cities", "arguments": {}}</trial>'
    loop = "<think>" + " loop" * 30 + "</think><answer>Paris</answer>"
    fail = '<trial>{"name": "no_such_tool", "arguments": {}}</trial>'
    other = ('<think>Fix: `no_such_tool` -> `list_cities`.</think>'
             '<trial>{"name": "list_cities", "arguments": {}}</trial>')
    slow = "<think>" + " fix" * 8 + "</think>" + '<trial>{"name": "list_cities", "arguments": {}}</trial>'
    answer = "<answer>Paris</answer>"
    scenarios = {
        "think5": ({"max_thought_tokens": 5}, [[short], [loop], [answer]]),
        "resample2": ({"resample_resends": 2}, [[fail], [fail, fail, other], [answer]]),
        "resample1": ({"resample_resends": 1}, [[fail], [fail, fail, other], [answer]]),
        "think3-resample2": ({"max_thought_tokens": 3, "resample_resends": 2},
                             [[fail], [fail, fail, slow], [loop], [answer]]),
    }
    pinned = json.loads((Path(__file__).parent / "data" / "probe_evaluations.json").read_text())
    assert set(pinned) == set(scenarios)
    for name, (settings, script) in scenarios.items():
        probes = eval_probes(**settings)
        assert "-".join(p.name for p in probes) == name
        policy = LLMPolicy(model, tok, SamplingConfig(temperature=0, max_new_tokens=64),
                           logits_processors=[ForceAttempts(tok, script)], probes=probes)
        path = tmp_path / f"{name}.jsonl"
        results = evaluate(policy, "ToolMaster/Weather-v0", episodes=3, seeds=[0],
                           batch_size=2, max_turns=4, transcripts=path)
        split = results["splits"]["ToolMaster/Weather-v0"]
        assert {k: split[k] for k in pinned[name]["summary"]} == pinned[name]["summary"], name
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert rows == pinned[name]["transcripts"], name
