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
from urllib.parse import urlsplit

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient

from tool_gym.serving.models import ToolAction, ToolObservation, ToolState


class ToolMasterClient(EnvClient[ToolAction, ToolObservation, ToolState]):
    """``reset(seed=, options=, env_id=, env_kwargs=)`` and ``step(ToolAction | str)``.

    It connects as :class:`~openenv.core.env_client.EnvClient` does, but without
    per-message deflate (a ToolMaster message is a few hundred bytes to a few KiB of JSON:
    compressing it costs more CPU per step than it saves on any link a trainer uses, and
    ``tool-gym serve`` does not offer it) and, for a loopback server, without a proxy
    (passed to ``websockets`` instead of setting ``NO_PROXY`` process-wide). Set
    :attr:`ws_compression` to ``"deflate"`` to ask for compression as ``EnvClient`` does.
    """

    #: ``websockets``' ``compression`` argument: None (no per-message deflate) or "deflate".
    ws_compression: str | None = None

    async def connect(self) -> ToolMasterClient:
        if self._ws is not None:
            return self
        from websockets.asyncio.client import connect as ws_connect

        host = urlsplit(self._ws_url).hostname or ""
        loopback = host in ("localhost", "127.0.0.1", "::1")
        try:
            self._ws = await ws_connect(self._ws_url, open_timeout=self._connect_timeout,
                                        max_size=self._max_message_size,
                                        compression=self.ws_compression,
                                        proxy=None if loopback else True)
        except Exception as e:
            raise ConnectionError(f"Failed to connect to {self._ws_url}: {e}") from e
        return self

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
