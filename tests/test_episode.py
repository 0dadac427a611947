"""The one episode loop: scripted and LLM policies alike, batched by the loop."""

from __future__ import annotations

import gymnasium as gym
import pytest

import tool_gym  # noqa: F401
from tool_gym.episode import Agents, EpisodeRecord, Policy, Replay, as_policy, play, replay
from tool_gym.oracle import GoldenPlanPolicy, run_episode


def test_a_batch_plays_the_same_episodes_as_one_env_at_a_time():
    seeds = [3, 4, 5, 6, 7]
    alone = []
    env = gym.make("ToolMaster/Drift-v0", stale_docs=True)
    for seed in seeds:
        alone.append(run_episode(env, GoldenPlanPolicy(env), seed=seed))
    envs = [gym.make("ToolMaster/Drift-v0", stale_docs=True) for _ in range(2)]
    done = []
    batch = play(envs, Agents(factory=GoldenPlanPolicy), seeds, on_done=done.append)
    assert [e.seed for e in batch] == seeds and sorted(id(e) for e in done) == sorted(
        id(e) for e in batch)
    for one, ep in zip(alone, batch, strict=True):
        assert ep.actions == one["actions"] and ep.success and one["success"]
        assert ep.reward == one["return"] and ep.stop_reason == "answer" and ep.terminated
        assert len(ep.observations) == len(ep.actions) == ep.turns == one["turns"]
        assert ep.messages[0]["role"] == "system" and ep.observation.endswith(ep.messages[1][
            "content"])


class Stubborn:
    """Trials an unknown tool forever; its second message is a deliberate mistake."""

    def __init__(self):
        self.turn = 0
        self.last_is_mistake = False

    def begin(self, obs, info):
        self.turn = 0

    def act(self, obs):
        self.turn += 1
        self.last_is_mistake = self.turn == 2
        return '<trial>{"name": "nope", "arguments": {}}</trial>'


def test_the_loop_stops_at_max_turns_and_records_marked_mistakes():
    env = gym.make("ToolMaster/Weather-v0")
    ep, = play([env], Stubborn(), [1], max_turns=3)
    assert (ep.turns, ep.stop_reason, ep.truncated, ep.success) == (3, "max_turns", True, False)
    assert ep.mistakes == [1] and ep.trials == 3
    ep, = play([gym.make("ToolMaster/Weather-v0", max_turns=2)], Stubborn(), [1])
    assert (ep.turns, ep.stop_reason, ep.truncated) == (2, "env_limit", True)


class Fussy:
    """A minimal Policy: refuses odd seeds at the start, answers at once otherwise."""

    record_type = EpisodeRecord

    def __init__(self):
        self.seen: list[int | None] = []
        self.batches: list[int] = []

    def reset(self, seed):
        self.seen.append(seed)

    def start(self, slot, env, episode):
        return episode.seed % 2 == 0

    def act(self, slots, episodes):
        self.batches.append(len(slots))
        return ["<answer>?</answer>"] * len(slots)

    def observe(self, slot, episode):
        return True


def test_any_policy_plays_batched_by_the_loop():
    policy = Fussy()
    assert isinstance(policy, Policy) and as_policy(policy) is policy
    assert isinstance(as_policy(GoldenPlanPolicy), Agents)
    envs = [gym.make("ToolMaster/Weather-v0") for _ in range(3)]
    episodes = play(envs, policy, [0, 1, 2, 3, 4, 6], seed=9)
    assert policy.seen == [9] and policy.batches == [3, 1]
    assert [(e.seed, e.stop_reason, e.turns) for e in episodes] == [
        (0, "answer", 1), (1, "context", 0), (2, "answer", 1), (3, "context", 0),
        (4, "answer", 1), (6, "answer", 1)]


def test_evaluation_plays_every_policy_in_the_one_loop(monkeypatch):
    import tool_gym.agents.evaluate as evaluate_module

    calls = []
    real = evaluate_module.play

    def counting(envs, policy, seeds, **kw):
        calls.append(type(policy).__name__)
        return real(envs, policy, seeds, **kw)

    monkeypatch.setattr(evaluate_module, "play", counting)
    splits = {"weather": ("ToolMaster/Weather-v0", {})}
    res = evaluate_module.evaluate(Fussy(), splits, episodes=4, progress=False)
    assert res["splits"]["weather"]["episodes"] == 4 and res["config"]["policy"] == "Fussy"
    evaluate_module.evaluate(GoldenPlanPolicy, splits, episodes=2, progress=False)
    assert calls == ["Fussy", "Agents"]


def test_one_agent_needs_a_factory_or_an_instance():
    with pytest.raises(ValueError, match="one agent or a factory"):
        Agents()


def test_a_replay_sends_the_recorded_messages_and_reproduces_the_episode():
    """Replaying a played episode's messages in the one loop gives the same episode, with
    on_step after every answered message; a batch replays each episode's own messages."""
    envs = [gym.make("ToolMaster/Weather-v0") for _ in range(2)]
    played = play(envs, Agents(factory=GoldenPlanPolicy), [0, 1, 2])
    assert all(e.success and e.turns >= 2 for e in played)
    steps = []
    again = replay(envs[0], 1, played[1].actions, on_step=lambda env, ep: steps.append(
        (env is envs[0], ep.turns, ep.observations[-1])))
    assert again.to_dict() == played[1].to_dict()
    assert steps == [(True, n, obs) for n, obs in enumerate(played[1].observations, start=1)]
    batch = play(envs, Replay([e.actions for e in played]), [0, 1, 2],
                 max_turns=max(e.turns for e in played))
    assert [e.to_dict() for e in batch] == [e.to_dict() for e in played]
    short = replay(envs[1], 2, played[2].actions[:1])
    assert (short.turns, short.stop_reason, short.actions) == (1, "max_turns",
                                                               played[2].actions[:1])
    none = replay(envs[1], 2, [])
    assert (none.turns, none.stop_reason, none.task_id) == (0, "max_turns", played[2].task_id)

