"""The doc-following replay: the baseline that adapts to nothing."""

from __future__ import annotations

from typing import Any

from tool_gym.explorer.intent import IntentFn, RefError, bind, canonical_intent, final_answer
from tool_gym.explorer.responses import match_responses
from tool_gym.protocol import format_call


class DocReplayPolicy:
    """Replays the old-docs plan as written: no trials, no adaptation, literal paths.

    What a trajectory-centric agent that memorised the old API does. Any error or missing
    field ends the episode with a non-answer.
    """

    def __init__(self, intent_fn: IntentFn = canonical_intent) -> None:
        self.intent_fn = intent_fn

    def begin(self, obs: str, info: dict[str, Any]) -> None:
        self.intent = self.intent_fn(info)
        self.results: list[Any] = []
        self.sent: tuple[str, str] | None = None
        self.failed = False

    def act(self, observation: str) -> str:
        if self.sent is not None:
            (resp,) = match_responses(observation, [self.sent])
            if resp is None or not resp.ok:
                self.failed = True
            else:
                self.results.append(resp.value())
            self.sent = None
        plan = self.intent.plan
        if not self.failed and len(self.results) < len(plan):
            step = plan[len(self.results)]
            try:
                args = bind(step.arguments, self.results, literal=True)
            except (RefError, KeyError, TypeError):
                return "<answer>I could not complete the task.</answer>"
            self.sent = ("call", step.tool)
            return format_call(step.tool, args)
        if self.failed:
            return "<answer>I could not complete the task.</answer>"
        return f"<answer>{final_answer(self.intent.answer, self.results, literal=True)}</answer>"
