"""The token contract: a rollout and an SFT example of one episode have the same ids and mask."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from transformers import LogitsProcessor  # noqa: E402

from tool_gym.agents.chat_format import ChatFormat, ChatTemplateError  # noqa: E402
from tool_gym.agents.models import CHATML_TEMPLATE, load_tokenizer  # noqa: E402
from tool_gym.agents.rollout import SamplingConfig, make_envs, rollout  # noqa: E402
from tool_gym.agents.sft import IGNORE_INDEX, tokenize_conversation  # noqa: E402
from tool_gym.agents.teachers import TrialTeacher  # noqa: E402
from tool_gym.agents.traces import generate_traces  # noqa: E402


class ForceTokens(LogitsProcessor):
    """Makes a model send fixed token ids, one message after another (batch of one)."""

    def __init__(self, ids: list[int]) -> None:
        self.ids, self.at = ids, 0

    def __call__(self, input_ids, scores):
        scores[:] = -torch.inf
        scores[0, self.ids[self.at]] = 0.0
        self.at += 1
        return scores


@pytest.fixture(scope="module", params=["tiny", "default", "chatml"])
def tokenizer(request, tiny):
    """The tiny test model's tokenizer, the default model's, and one with the plain
    ChatML template (no default system prompt)."""
    if request.param == "tiny":
        return tiny[1]
    tok = load_tokenizer("default")
    if request.param == "chatml":
        tok.chat_template = CHATML_TEMPLATE
    return tok


@pytest.fixture(scope="module")
def records():
    """Teacher traces with trials, failed calls, several turns and an unseen API."""
    return generate_traces(TrialTeacher, "ToolMaster/Drift-v0", n=3, seed=7,
                           env_kwargs={"stale_docs": True}, progress=False)


def test_a_rollout_and_an_sft_example_of_one_episode_have_the_same_ids_and_mask(
        tiny, tokenizer, records):
    model, _ = tiny
    fmt = ChatFormat(tokenizer)
    for record in records:
        messages = record["messages"]
        assert sum(m["role"] == "assistant" for m in messages) >= 2
        replies = [t for m in messages if m["role"] == "assistant"
                   for t in fmt.reply_ids(m["content"])]
        env = make_envs("ToolMaster/Drift-v0", 1, stale_docs=True)
        episode, = rollout(model, tokenizer, env, [record["seed"]],
                           gen=SamplingConfig(temperature=0, max_new_tokens=512),
                           logits_processors=[ForceTokens(replies)], chat_format=fmt)
        assert episode.actions == [m["content"] for m in messages if m["role"] == "assistant"]
        assert episode.success == record["outcome"]["success"]

        example = tokenize_conversation(messages, tokenizer)
        assert example["input_ids"] == episode.prompt_ids + episode.completion_ids
        mask = [0] * len(episode.prompt_ids) + episode.env_mask
        assert [int(x != IGNORE_INDEX) for x in example["labels"]] == mask
        assert [x for x in example["labels"] if x != IGNORE_INDEX] == [
            t for t, m in zip(episode.completion_ids, episode.env_mask, strict=True) if m]
        tokenized = fmt.tokenize(messages)
        assert tokenized.input_ids == example["input_ids"]
        assert tokenized.env_mask == episode.env_mask


def test_each_reply_is_learned_with_its_end_of_turn_token(tokenizer, records):
    fmt = ChatFormat(tokenizer)
    messages = records[0]["messages"]
    episode = fmt.tokenize(messages)
    assert [j for j, _, _ in episode.replies] == [
        j for j, m in enumerate(messages) if m["role"] == "assistant"]
    for j, start, end in episode.replies:
        ids = episode.completion_ids[start:end]
        assert ids[-1] == fmt.end_of_turn == tokenizer.convert_tokens_to_ids("<|im_end|>")
        assert tokenizer.decode(ids[:-1]) == messages[j]["content"]
    assert episode.completion_ids[-1] == fmt.end_of_turn  # nothing after the last reply


def test_a_conversation_must_alternate_replies_and_observations(tokenizer):
    fmt = ChatFormat(tokenizer)
    head = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
    with pytest.raises(ValueError, match="no assistant message"):
        fmt.tokenize(head)
    with pytest.raises(ValueError, match="one observation"):
        fmt.tokenize(head + [{"role": "assistant", "content": "a"},
                             {"role": "user", "content": "o"}, {"role": "user", "content": "o"},
                             {"role": "assistant", "content": "b"}])


def test_a_template_that_rewrites_messages_is_rejected(tokenizer):
    saved = tokenizer.chat_template
    # a ChatML template that drops carriage returns: the turn wrappers look right, but
    # the rendering of this conversation is not its pieces put together
    tokenizer.chat_template = CHATML_TEMPLATE.replace(
        "message['content']", "message['content'] | replace('\\r', '')")
    try:
        fmt = ChatFormat(tokenizer)
        messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"},
                    {"role": "assistant", "content": "a"}, {"role": "user", "content": "o\r\n"},
                    {"role": "assistant", "content": "b"}]
        assert fmt.tokenize(messages[:3]).completion_ids == fmt.reply_ids("a")
        with pytest.raises(ChatTemplateError, match="prefix-preserving"):
            fmt.tokenize(messages)
    finally:
        tokenizer.chat_template = saved
