"""The token contract: the ids and the loss mask of an episode, for one tokenizer.

A rollout, an SFT example (a teacher's trace), a DAgger example and a GRPO episode all
get their ids from :class:`ChatFormat`, so a model is trained on exactly the sequence it
conditions on when it plays:

* the prompt is the chat template applied to the env's first messages (system and user)
  with the generation prompt, tokenised once (:meth:`ChatFormat.prompt_ids`);
* a model message is its tokens as sampled, end-of-turn token included; a message
  written as text (a teacher's) is its content tokenised on its own plus that token
  (:meth:`ChatFormat.reply_ids`);
* each observation is tokenised once, on its own, and wrapped in the template's turn
  tokens, computed once per tokenizer (:meth:`ChatFormat.observation_ids`); for ChatML
  that is ``"\\n<|im_start|>user\\n" + obs + "<|im_end|>\\n<|im_start|>assistant\\n"``
  after the model's ``<|im_end|>``. When a message was cut at ``max_new_tokens`` the
  end-of-turn token is supplied too, as an env token.

An episode ends with its last model message: nothing the template would add after it
is part of the sequence. :meth:`ChatFormat.tokenize` lays out a whole conversation of
text messages the same way; the mask is 1 on the tokens of assistant messages.

Example:
    >>> from tool_gym.agents.models import load_tokenizer
    >>> fmt = ChatFormat(load_tokenizer("default"))  # doctest: +SKIP
    >>> episode = fmt.tokenize(record["messages"])  # doctest: +SKIP
    >>> len(episode.input_ids) == len(episode.prompt_ids) + len(episode.env_mask)  # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ChatFormat", "ChatTemplateError", "TokenizedEpisode"]

_MARK_A = "\x1eTOOLMASTER_ASSISTANT\x1e"
_MARK_O = "\x1eTOOLMASTER_OBSERVATION\x1e"


class ChatTemplateError(ValueError):
    """The chat template does not render a conversation as a growing prefix."""


@dataclass
class TokenizedEpisode:
    """A conversation of text messages laid out as a rollout lays out an episode.

    Attributes:
        prompt_ids: The messages before the first assistant message, with the
            generation prompt.
        completion_ids: Assistant and env tokens in order, from the first assistant
            token to the last one.
        env_mask: 1 on assistant tokens, 0 on env tokens (as a rollout's ``env_mask``).
        replies: For each assistant message: ``(message index, start, end)``, its tokens
            being ``completion_ids[start:end]`` (the last one the end-of-turn token).
    """

    prompt_ids: list[int]
    completion_ids: list[int] = field(default_factory=list)
    env_mask: list[int] = field(default_factory=list)
    replies: list[tuple[int, int, int]] = field(default_factory=list)

    @property
    def input_ids(self) -> list[int]:
        return self.prompt_ids + self.completion_ids


class ChatFormat:
    """Token ids of prompts, replies and wrapped observations for one tokenizer.

    Args:
        tokenizer: A tokenizer with a chat template that appends turns (prefix-preserving).
        obs_role: Chat role of observations (``"user"``; ``"tool"`` if the template has one).
        stop_ids: Extra end-of-message token ids (e.g. the model's generation config EOS).

    Raises:
        ChatTemplateError: The template does not append an assistant turn and an
            observation after the generation prompt.
    """

    def __init__(self, tokenizer: Any, obs_role: str = "user",
                 stop_ids: Sequence[int] = ()) -> None:
        self.tokenizer = tokenizer
        self.obs_role = obs_role
        head = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]
        prompt = self.render(head)
        text = tokenizer.apply_chat_template(
            head + [{"role": "assistant", "content": _MARK_A},
                    {"role": obs_role, "content": _MARK_O}],
            tokenize=False, add_generation_prompt=True)
        ia, io = text.find(_MARK_A), text.find(_MARK_O)
        if ia < 0 or io < ia or not text.startswith(prompt) or text[len(prompt):ia].strip():
            raise ChatTemplateError(
                "the chat template is not prefix-preserving: it does not append an assistant "
                "turn after the generation prompt; use a template that appends turns")
        self.between_text = text[ia + len(_MARK_A): io]
        self.after_text = text[io + len(_MARK_O):]
        self.between_ids = self.encode(self.between_text)
        self.after_ids = self.encode(self.after_text)
        special = set(getattr(tokenizer, "all_special_ids", []) or [])
        first = self.between_ids[0] if self.between_ids else None
        #: The token that ends an assistant turn in the template (``<|im_end|>``), if special.
        self.end_of_turn: int | None = first if first in special else None
        stops = {i for i in stop_ids if i is not None}
        if tokenizer.eos_token_id is not None:
            stops.add(tokenizer.eos_token_id)
        if self.end_of_turn is not None:
            stops.add(self.end_of_turn)
        self.stop_ids: list[int] = sorted(stops)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (
            self.stop_ids[0])

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def render(self, messages: Sequence[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(list(messages), tokenize=False,
                                                  add_generation_prompt=True)

    def prompt_ids(self, messages: Sequence[dict[str, str]]) -> list[int]:
        """The first prompt: the chat template with the generation prompt, tokenised once."""
        return self.encode(self.render(messages))

    @property
    def end_ids(self) -> list[int]:
        """What ends a model message: the template's end-of-turn token (else the EOS)."""
        end = self.end_of_turn if self.end_of_turn is not None else (
            self.tokenizer.eos_token_id)
        return [end] if end is not None else []

    def reply_ids(self, content: str) -> list[int]:
        """A model message written as text: its content tokenised on its own, then the
        end-of-turn token, as the model would have generated it."""
        return self.encode(content) + self.end_ids

    def observation_ids(self, observation: str, closed: bool) -> list[int]:
        """Env tokens after a model message: turn wrapper, observation, generation prompt.

        ``closed``: the message ended with the template's end-of-turn token; if not, that
        token is supplied here (as an env token).
        """
        head = self.between_ids
        if closed and self.end_of_turn is not None:
            head = head[1:]
        return head + self.encode(observation) + self.after_ids

    def tokenize(self, messages: Sequence[dict[str, str]]) -> TokenizedEpisode:
        """A conversation (the env's first messages, then assistant messages and
        observations in turn, ending with an assistant message) as a rollout lays it out.

        Raises:
            ValueError: No assistant message, or an observation in another role than
                ``obs_role``.
            ChatTemplateError: The template renders this conversation differently from
                the pieces put together (it is not prefix-preserving).
        """
        kinds = [m["role"] == "assistant" for m in messages]
        if not any(kinds):
            raise ValueError("the conversation has no assistant message to learn from")
        first = kinds.index(True)
        last = len(kinds) - 1 - kinds[::-1].index(True)  # what follows it is not played
        out = TokenizedEpisode(self.prompt_ids(messages[:first]))
        text = self.render(messages[:first])
        for j in range(first, last + 1):
            message = messages[j]
            if kinds[j]:
                ids = self.reply_ids(message["content"])
                start = len(out.completion_ids)
                out.completion_ids += ids
                out.env_mask += [1] * len(ids)
                out.replies.append((j, start, len(out.completion_ids)))
                text += message["content"]
                continue
            if message["role"] != self.obs_role or not kinds[j - 1]:
                raise ValueError(f"message {j}: expected one observation in role "
                                 f"{self.obs_role!r} after each assistant message, got "
                                 f"{message['role']!r} after {messages[j - 1]['role']!r}")
            ids = self.observation_ids(message["content"], closed=True)
            out.completion_ids += ids
            out.env_mask += [0] * len(ids)
            text += self.between_text + message["content"] + self.after_text
        whole = self.tokenizer.apply_chat_template(list(messages[:last + 1]), tokenize=False,
                                                   add_generation_prompt=False)
        if not whole.startswith(text):
            raise ChatTemplateError(
                "the chat template is not prefix-preserving for this conversation: it renders "
                "the messages differently from its turns put together; use a template that "
                "appends turns")
        return out
