"""The OpenEnv client of a ToolMaster server: one WebSocket session per client.

Example:
    >>> import asyncio
    >>> async def play():  # doctest: +SKIP
    ...     async with ToolMasterClient("http://127.0.0.1:8000") as client:
    ...         result = await client.reset(seed=0, env_id="ToolMaster/Weather-v0")
    ...         result = await client.step(ToolAction(message="<answer>sunny</answer>"))
    ...         return result.observation.success
    >>> with ToolMasterClient("http://127.0.0.1:8000").sync() as client:  # doctest: +SKIP
    ...     first = client.reset(seed=0).observation.text
"""

from __future__ import annotations

from typing import Any

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient

from tool_gym.serving.models import ToolAction, ToolObservation, ToolState


class ToolMasterClient(EnvClient[ToolAction, ToolObservation, ToolState]):
    """``reset(seed=, options=, env_id=, env_kwargs=)`` and ``step(ToolAction | str)``."""

    def _step_payload(self, action: ToolAction | str) -> dict[str, Any]:
        if isinstance(action, str):
            action = ToolAction(message=action)
        return action.model_dump(exclude={"metadata"})

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[ToolObservation]:
        obs = ToolObservation(**payload.get("observation", {}), done=payload.get("done", False),
                              reward=payload.get("reward"))
        return StepResult(observation=obs, reward=payload.get("reward"),
                          done=bool(payload.get("done", False)))

    def _parse_state(self, payload: dict[str, Any]) -> ToolState:
        return ToolState(**payload)
