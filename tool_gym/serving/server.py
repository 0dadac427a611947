"""Every registered id as an OpenEnv server, built by ``openenv``'s ``create_app``.

OpenEnv gives each WebSocket connection (``/ws``) its own :class:`ToolMasterEnvironment`,
so a session is never shared or reused across clients; it caps concurrent sessions
(a client over the cap gets a ``CAPACITY_REACHED`` error), reaps sessions idle beyond a
timeout, and serves ``/health``, ``/metadata``, ``/schema`` and the stateless HTTP
``/reset`` and ``/step``. Each session's env is ``gym.make(env_id, **env_kwargs)``, the
same object an in-process user gets, so an episode played through the server is the
in-process episode (same seed, same actions: same observations, rewards and ``info``).

What this module adds: the environment adapter, a per-session reset rate limit, a cap on
request bodies and WebSocket messages, and clear errors for requests the env cannot
answer (HTTP 409 for a stateless ``/step``, 413 for an oversized body).

One Python process steps about a thousand sessions' messages a second (the env is pure
Python), so :func:`serve` can run ``workers`` processes behind one port: uvicorn's own
worker supervisor, each worker building the app from :func:`app_from_environment`. A
WebSocket session lives in the process that accepted its connection, so sessions stay
isolated; the session cap and the reaper are per process (``workers`` processes hold up
to ``workers * max_sessions`` sessions).

Example:
    >>> app = make_app(ServeConfig("ToolMaster/Weather-v0"), max_sessions=8)  # doctest: +SKIP
    >>> serve(ServeConfig("ToolMaster/Weather-v0"), port=8000)  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from dataclasses import dataclass, field, fields
from functools import partial
from typing import Any

import gymnasium as gym
from openenv.core.env_server import ConcurrencyConfig, Environment, create_app
from openenv.core.env_server.types import EnvironmentMetadata

import tool_gym
from tool_gym.errors import ToolGymError
from tool_gym.protocol import cap
from tool_gym.registration import env_ids as registered_ids
from tool_gym.serving.models import ToolAction, ToolObservation, ToolState
from tool_gym.world import SQLiteWorld

DEFAULT_PORT = 8000
#: Seconds a worker process may take to answer uvicorn's health check before it is restarted.
WORKER_HEALTHCHECK_S = 60
#: The environment variable through which :func:`serve` hands its settings to the worker
#: processes uvicorn starts (they build their app with :func:`app_from_environment`).
SETTINGS_VARIABLE = "TOOLMASTER_SERVE_SETTINGS"
#: Largest HTTP body or WebSocket message accepted (bytes).
MAX_BODY_BYTES = 256 * 1024  # a message of MAX_MESSAGE_CHARS fits however escaped


class SessionError(ToolGymError):
    """A request the session cannot answer (step before reset, a refused reset)."""


@dataclass
class ServeConfig:
    """What a server plays.

    Args:
        env_id: The id a session plays when its reset names none.
        env_kwargs: ``gym.make`` keywords of that id (split, drift, stale docs...).
        env_ids: Other ids a client may ask for in its reset (``["*"]``: every registered
            ``ToolMaster/...`` id). By default only ``env_id``.
        client_kwargs: Whether a reset may carry its own ``env_kwargs`` (they replace the
            server's, so the session is ``gym.make(env_id, **client_kwargs)``).
        max_resets_per_s: Resets a session may make per second (a burst of as many is
            allowed); more are refused with an error, the session stays usable.
        max_observation_chars: Cap on the observation text (the env caps it too).
    """

    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    env_ids: list[str] = field(default_factory=list)
    client_kwargs: bool = True
    max_resets_per_s: float = 200.0
    max_observation_chars: int = 16384
    live: int = field(default=0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.env_id not in gym.registry:
            raise SessionError(_unknown_id(self.env_id))
        gym.make(self.env_id, **self.env_kwargs).close()  # bad kwargs fail at start

    def allows(self, env_id: str) -> bool:
        if env_id == self.env_id:
            return True
        if "*" in self.env_ids:
            return env_id in registered_ids()
        return env_id in self.env_ids

    def count(self, delta: int) -> None:
        with self._lock:
            self.live += delta

    def settings(self) -> dict[str, Any]:
        """The constructor's arguments as JSON values (for another process's copy)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        try:
            json.dumps(out)
        except (TypeError, ValueError) as e:
            raise SessionError(f"env_kwargs must be JSON values to reach worker processes: "
                               f"{e}") from None
        return out


def _unknown_id(env_id: str) -> str:
    import difflib

    close = difflib.get_close_matches(env_id, registered_ids(), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return f"unknown env id {env_id!r}.{hint}"


class ToolMasterEnvironment(Environment[ToolAction, ToolObservation, ToolState]):
    """One session: a ``gym.make`` env, made at the session's first reset.

    A reset may name ``env_id`` and ``env_kwargs`` (when the server allows them) and
    ``options`` (``task_seed``, ``domain``) as ``env.reset`` takes them. The env is made
    again only when the id or kwargs change, so consecutive resets continue one seeded
    stream, as one in-process env does.
    """

    SUPPORTS_CONCURRENT_SESSIONS = True
    RESET_KEYS = ("options", "env_id", "env_kwargs")

    def __init__(self, config: ServeConfig) -> None:
        super().__init__()
        self.config = config
        self._env: gym.Env | None = None
        self._made: tuple[str, str] | None = None
        self._state = ToolState()
        self._tokens = config.max_resets_per_s
        self._refill_at = time.monotonic()
        self._closed = False
        config.count(+1)

    def _take_reset_token(self) -> None:
        rate = self.config.max_resets_per_s
        now = time.monotonic()
        self._tokens = min(rate, self._tokens + (now - self._refill_at) * rate)
        self._refill_at = now
        if self._tokens < 1:
            raise SessionError(f"too many resets: this server allows {rate:g} per second per "
                               "session; wait and reset again")
        self._tokens -= 1

    def reset(self, seed: int | None = None, episode_id: str | None = None,
              **kwargs: Any) -> ToolObservation:
        unknown = sorted(set(kwargs) - set(self.RESET_KEYS))
        if unknown:
            raise SessionError(f"unknown reset field(s) {unknown}; a reset takes seed, "
                               f"episode_id, {', '.join(self.RESET_KEYS)}")
        self._take_reset_token()
        env_id = kwargs.get("env_id") or self.config.env_id
        if not self.config.allows(env_id):
            raise SessionError(_unknown_id(env_id) if env_id not in gym.registry else
                               f"this server does not serve {env_id!r}; it serves "
                               f"{self.config.env_id!r}")
        env_kwargs = kwargs.get("env_kwargs")
        if env_kwargs is None:
            env_kwargs = self.config.env_kwargs
        elif not self.config.client_kwargs:
            raise SessionError("this server does not take env_kwargs from clients")
        elif not isinstance(env_kwargs, dict):
            raise SessionError(f"env_kwargs must be an object, got {type(env_kwargs).__name__}")
        key = (env_id, json.dumps(env_kwargs, sort_keys=True, default=str))
        if self._env is None or key != self._made:
            if self._env is not None:
                self._env.close()
                self._env = None
            self._env = gym.make(env_id, **env_kwargs)
            self._made = key
        options = kwargs.get("options")
        if options is not None and not isinstance(options, dict):
            raise SessionError(f"options must be an object, got {type(options).__name__}")
        text, info = self._env.reset(seed=seed, options=options)
        self._state = ToolState(episode_id=episode_id, step_count=0, env_id=env_id,
                                env_kwargs=env_kwargs, task_id=info.get("task_id"))
        return ToolObservation.from_step(self._cap(text), info)

    def step(self, action: ToolAction, timeout_s: float | None = None,
             **kwargs: Any) -> ToolObservation:
        if self._env is None:
            raise SessionError("no episode in this session: send a reset first (HTTP /step "
                               "is stateless; play episodes over the WebSocket /ws)")
        text, reward, terminated, truncated, info = self._env.step(action.message)
        self._state.step_count += 1
        self._state.done = bool(terminated or truncated)
        return ToolObservation.from_step(self._cap(text), info, reward, terminated, truncated)

    # OpenEnv's /ws handler awaits ``reset_async`` / ``step_async`` on the event loop when
    # the Environment overrides them, and otherwise runs ``reset`` / ``step`` in the
    # session's one-thread executor. A step takes tens of microseconds and a reset well
    # under a few milliseconds of pure Python, which holds the GIL in a thread too: the hop
    # (a thread wake-up, then ``call_soon_threadsafe`` to wake the loop) costs more than
    # the call and buys no parallelism. So both run inline; only a SQL backend's steps go to
    # a thread (a query may run up to its time limit, with the GIL released by sqlite3, and
    # would stall every session on the loop).

    async def reset_async(self, seed: int | None = None, episode_id: str | None = None,
                          **kwargs: Any) -> ToolObservation:
        return self.reset(seed=seed, episode_id=episode_id, **kwargs)

    async def step_async(self, action: ToolAction, timeout_s: float | None = None,
                         **kwargs: Any) -> ToolObservation:
        episode = getattr(self._env.unwrapped, "episode", None) if self._env else None
        if episode is not None and isinstance(episode.world, SQLiteWorld):
            return await asyncio.to_thread(self.step, action)
        return self.step(action)

    def _cap(self, text: str) -> str:
        limit = self.config.max_observation_chars
        return text if len(text) <= limit else cap(text, limit)

    @property
    def state(self) -> ToolState:
        return self._state

    def get_metadata(self) -> EnvironmentMetadata:
        served = self.config.env_id
        extra = " (and any registered id)" if "*" in self.config.env_ids else ""
        return EnvironmentMetadata(
            name="ToolMaster", version=tool_gym.__version__,
            description=f"ToolMaster Gym tool-use env {served}{extra}: text actions with "
                        "<trial>, <call> and <answer> tags; the observation carries the "
                        "env's info (tools, messages, reward terms, success at the end).",
            documentation_url="https://github.com/toolmaster-gym/toolmaster-gym")

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None
        if not self._closed:
            self._closed = True
            self.config.count(-1)


class _ClientLeftFirst:
    """ASGI middleware: a WebSocket client that closed first is not a server error.

    OpenEnv's ``/ws`` handler destroys the session, then closes the socket; when the client
    has already closed it (its ``close`` message is followed by the socket's end), that
    last close raises ``WebSocketDisconnect`` and uvicorn logs a traceback per session.
    The session is gone by then, so there is nothing left to do.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        from starlette.websockets import WebSocketDisconnect

        try:
            await self.app(scope, receive, send)
        except WebSocketDisconnect:
            pass


def make_app(config: ServeConfig, max_sessions: int = 64, session_timeout_s: float = 300.0,
             max_body_bytes: int = MAX_BODY_BYTES) -> Any:
    """The FastAPI app: ``openenv``'s ``create_app`` over :class:`ToolMasterEnvironment`.

    Args:
        config: What sessions play.
        max_sessions: Concurrent WebSocket sessions; one more is refused.
        session_timeout_s: A session idle this long is closed by OpenEnv's reaper (it
            checks every ``max(timeout / 4, 5)`` seconds).
        max_body_bytes: Larger HTTP bodies get 413 (WebSocket messages are capped by
            :func:`serve`).
    """
    from fastapi import Request
    from fastapi.responses import JSONResponse

    concurrency = ConcurrencyConfig(max_concurrent_envs=max_sessions,
                                    session_timeout=session_timeout_s)
    app = create_app(partial(ToolMasterEnvironment, config), ToolAction, ToolObservation,
                     env_name="toolmaster", concurrency_config=concurrency)

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        size = request.headers.get("content-length")
        if size is not None and (not size.isdigit() or int(size) > max_body_bytes):
            return JSONResponse(status_code=413, content={
                "detail": f"request body of {size} bytes; the limit is {max_body_bytes}"})
        return await call_next(request)

    app.add_middleware(_ClientLeftFirst)

    @app.exception_handler(SessionError)
    async def session_error(request: Request, exc: SessionError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.exception_handler(gym.error.Error)
    async def gym_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    return app


def app_from_environment() -> Any:
    """:func:`make_app` from the settings :func:`serve` put in :data:`SETTINGS_VARIABLE`:
    the app factory each of uvicorn's worker processes calls."""
    raw = os.environ.get(SETTINGS_VARIABLE)
    if raw is None:
        raise SessionError(f"{SETTINGS_VARIABLE} is not set: start workers with "
                           "serve(..., workers=N) or tool-gym serve ID --workers N")
    settings = json.loads(raw)
    return make_app(ServeConfig(**settings.pop("config")), **settings)


def uvicorn_options(max_body_bytes: int = MAX_BODY_BYTES,
                    ws_per_message_deflate: bool = False, loop: str = "auto") -> dict[str, Any]:
    """The settings :func:`serve` gives ``uvicorn.run`` (and tests give ``uvicorn.Config``):
    the message cap, keep-alive pings, per-message deflate off unless asked for (messages
    here are a few hundred bytes to a few KiB, and deflating each one costs more CPU than
    the step itself), and uvicorn's event loop (``auto``: uvloop when it is installed, as
    with ``pip install "uvicorn[standard]"``, else asyncio's)."""
    return {"ws_max_size": max_body_bytes, "ws_ping_interval": 20.0, "ws_ping_timeout": 20.0,
            "ws_per_message_deflate": ws_per_message_deflate, "loop": loop}


def serve(config: ServeConfig, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          max_sessions: int = 64, session_timeout_s: float = 300.0,
          max_body_bytes: int = MAX_BODY_BYTES, log_level: str = "warning",
          workers: int = 1, ws_per_message_deflate: bool = False,
          loop: str = "auto") -> None:
    """Run the app with uvicorn until interrupted (loopback only unless ``host`` says).

    ``workers > 1`` runs that many server processes on one port (uvicorn's supervisor
    restarts one that dies). Each accepted connection, and so each session, stays in one
    process; ``max_sessions`` and the reaper apply per process.

    ``ws_per_message_deflate`` offers WebSocket compression to clients that ask (OpenEnv's
    ``EnvClient`` does; :class:`~tool_gym.serving.client.ToolMasterClient` does not); off
    by default. ``loop`` is uvicorn's (``auto``, ``asyncio`` or ``uvloop``); see
    :func:`uvicorn_options`.
    """
    import uvicorn

    app_kwargs = {"max_sessions": max_sessions, "session_timeout_s": session_timeout_s,
                  "max_body_bytes": max_body_bytes}
    if workers > 1:
        os.environ[SETTINGS_VARIABLE] = json.dumps({"config": config.settings(), **app_kwargs})
        app: Any = f"{__name__}:{app_from_environment.__name__}"
        # a worker answers the supervisor's health check only once Python and uvicorn are
        # loaded in it, which takes far over uvicorn's 5 s default on a busy machine (it
        # then kills and restarts the worker, again and again)
        extra: dict[str, Any] = {"factory": True, "workers": workers,
                                 "timeout_worker_healthcheck": WORKER_HEALTHCHECK_S}
    else:
        app, extra = make_app(config, **app_kwargs), {}
    uvicorn.run(app, host=host, port=port, log_level=log_level,
                **uvicorn_options(max_body_bytes, ws_per_message_deflate, loop), **extra)
