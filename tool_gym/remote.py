"""``ToolMaster/Remote-v0``: a Gymnasium env whose episodes run on a ToolMaster server.

It speaks OpenEnv (through :class:`~tool_gym.serving.client.ToolMasterClient`) to a
server started with ``tool-gym serve``, and returns what the in-process env returns:
the same observation text, reward, ``terminated`` / ``truncated`` and ``info`` for the
same seed and messages. Evaluation, rollouts and ``check_env`` run on it unchanged;
privileged tools that read the env's hidden episode (the scripted teachers, the
golden-plan oracle) do not, by design: the server never sends what the checker knows.

Example:
    >>> env = gym.make("ToolMaster/Remote-v0", url="http://127.0.0.1:8000",
    ...                env_id="ToolMaster/Weather-Drift-v0", stale_docs=True)  # doctest: +SKIP
    >>> obs, info = env.reset(seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym

from tool_gym.env import ToolEnv
from tool_gym.errors import ToolGymError
from tool_gym.protocol import CHARSET
from tool_gym.spaces import ToolText


class RemoteEnvError(ToolGymError):
    """The server refused a request (unknown id, bad kwargs, capacity, too many resets)."""


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


class RemoteToolEnv(gym.Env[str, str]):
    """A ToolMaster env played on a server, one OpenEnv session per env.

    Args:
        url: The server (``http://127.0.0.1:8000`` or ``ws://...``).
        env_id: The id to play (default: the one the server serves).
        connect_timeout_s, message_timeout_s: WebSocket timeouts.
        render_mode: ``"ansi"`` or None.
        **env_kwargs: ``gym.make`` keywords of ``env_id``, made on the server (the server
            must allow client kwargs; ``tool-gym serve --locked`` does not).
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(self, url: str, env_id: str | None = None, *, connect_timeout_s: float = 10.0,
                 message_timeout_s: float = 60.0, render_mode: str | None = None,
                 **env_kwargs: Any) -> None:
        try:
            from tool_gym.serving.client import ToolMasterClient
        except ImportError as e:
            raise ImportError('ToolMaster/Remote-v0 needs the serve extra: '
                              'pip install "toolmaster-gym[serve]"') from e
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be 'ansi' or None, got {render_mode!r}")
        self.url = url
        self.env_id = env_id
        self.env_kwargs = {k: _jsonable(v) for k, v in env_kwargs.items()}
        self.render_mode = render_mode
        max_action = int(env_kwargs.get("max_action_chars", ToolEnv.MAX_ACTION_CHARS))
        self.observation_space = ToolText(ToolEnv.MAX_OBS_CHARS, min_length=1, charset=CHARSET)
        self.action_space = ToolText(max_action, min_length=0, charset=CHARSET)
        self._client = ToolMasterClient(url, connect_timeout_s=connect_timeout_s,
                                        message_timeout_s=message_timeout_s).sync()
        self._transcript: list[tuple[str, str]] = []
        self._call(self._client.connect)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (RuntimeError, ConnectionError) as e:
            raise RemoteEnvError(f"{self.url}: {e}") from e

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        data: dict[str, Any] = {"seed": seed, "options": options}
        if self.env_id is not None:
            data["env_id"] = self.env_id
        if self.env_kwargs:
            data["env_kwargs"] = self.env_kwargs
        obs = self._call(self._client.reset, **data).observation
        self._transcript = [("env", obs.text)]
        return obs.text, obs.info()

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        from tool_gym.serving.models import MAX_MESSAGE_CHARS, ToolAction

        text = action if isinstance(action, str) else str(action)
        # Longer than the wire takes: still over the env's own limit, so the env answers
        # with its error observation and penalty (only the character count it names differs).
        message = ToolAction(message=text[:MAX_MESSAGE_CHARS])
        result = self._call(self._client.step, message)
        obs = result.observation
        self._transcript += [("agent", text), ("env", obs.text)]
        terminated = bool(obs.done and not obs.truncated)
        return obs.text, float(result.reward or 0.0), terminated, bool(obs.truncated), obs.info()

    def render(self) -> str | None:
        if self.render_mode != "ansi" or not self._transcript:
            return None
        return "\n\n".join(f"{'>>> ' if who == 'agent' else ''}{text}"
                           for who, text in self._transcript)

    def close(self) -> None:
        client, self._client = getattr(self, "_client", None), None
        if client is not None:
            try:
                client.close()
            except Exception:  # the server may be gone already; nothing is left to free here
                pass
        super().close()
