"""MCP: an MCP server's tools as a tool API, through the official ``mcp`` Python SDK.

The catalogue is the server's ``tools/list`` (each ``inputSchema`` becomes a
:class:`~tool_gym.spec.ToolSpec`); real calls go to ``tools/call``. Both transports the
SDK's ``Client`` speaks work: a command line (stdio; the server runs as a subprocess of
the env) or a URL (streamable HTTP).

**What a ``<trial>`` means here.** A server's state cannot be copied, so:

- a tool annotated ``readOnlyHint: true`` is trialled by calling it for real (it
  promises not to change anything);
- any other tool is refused as a trial with an error that says so, unless the domain has
  a ``reset`` hook. Then a trial runs for real and the server is put back right after
  it, when the env closes the trial's view of the world: the reset hook, then the
  episode's real calls so far, replayed in order. That assumes a deterministic server; a
  replay whose result differs from the original is reported in the trial's error, never
  passed over.

A trial therefore never changes a server's state silently. The reset hook (a server tool
name, or a callable given the :class:`MCPConnection`) also runs at the start of every
episode, so episodes start from the same state; a tool named as the hook is hidden from
the agent.

**Failures.** Every request has a timeout (``timeout_s``). A server that dies, hangs or
answers garbage mid-episode gives the agent an error observation within that time, never
a hang or an exception out of ``step``; the connection is then closed (a stdio server's
process is stopped) and reopened at the next ``reset``.

Example:
    >>> import sys, gymnasium as gym, tool_gym
    >>> from tool_gym.importers.mcp import mcp_domain
    >>> notes = mcp_domain([sys.executable, "notes_server.py"], reset="reset_notes",
    ...                    tasks=[{"query": "What does the note 'todo' say?",
    ...                            "answer": "call Ada",
    ...                            "plan": [("read_note", {"title": "todo"})]}],
    ...                    name="notes", title="Notes")  # doctest: +SKIP
    >>> ids = tool_gym.register_domain(notes)  # doctest: +SKIP
    >>> env = gym.make("ToolMaster/Notes-v0")  # or ToolEnv(domains=[notes])  # doctest: +SKIP

``register_domain``'s validation runs golden plans on a trial view of the world: without
a reset hook, a plan that changes the server cannot run there, so such a domain is
registered with ``validate=False``. ``notes.close()`` stops a stdio server (it also stops
when the interpreter exits).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import re
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import numpy as np

from tool_gym.domain import Domain
from tool_gym.errors import SpecError, ToolError
from tool_gym.importers.functions import task_from_spec
from tool_gym.spec import ToolSpec
from tool_gym.task import Task
from tool_gym.world import World

INSTALL_HINT = "MCP support needs the official SDK: pip install 'toolmaster-gym[mcp]'"
Server = str | Sequence[str]
ResetHook = str | Callable[["MCPConnection"], Any] | None


class MCPConnection:
    """One live connection to an MCP server, driven from synchronous code.

    The SDK is asynchronous; the connection owns an event loop in a daemon thread and
    every request waits at most ``timeout_s``. After a timeout or a lost server the
    connection is closed and :attr:`problem` says why; :meth:`open` starts a new one.

    Args:
        server: A command line (``[executable, *args]``: stdio) or an ``http(s)://`` URL
            (streamable HTTP).
        timeout_s: Seconds one request (list, call) may take.
        env: Extra environment variables for a stdio server.
        connect_timeout_s: Seconds to start (a stdio server) and connect.
    """

    def __init__(self, server: Server, timeout_s: float = 10.0,
                 env: Mapping[str, str] | None = None, connect_timeout_s: float = 30.0) -> None:
        if isinstance(server, str) and not server.startswith(("http://", "https://")):
            raise ValueError(f"server must be a command line (a list) or an http(s) URL, "
                             f"got {server!r}")
        if not isinstance(server, str) and not server:
            raise ValueError("server command line is empty")
        self.server = server if isinstance(server, str) else list(server)
        self.timeout_s = float(timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)
        self.env = dict(env or {})
        self.problem: str | None = "not connected"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None
        self._stop: asyncio.Event | None = None
        self._runner: Any = None
        self._errlog: Any = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.problem is None

    def open(self) -> None:
        """Connect (closing any earlier connection first).

        Raises:
            ConnectionError: The server could not be started or did not answer in time.
        """
        self.close()
        try:
            from mcp import Client, StdioServerParameters
            from mcp.client.stdio import stdio_client
        except ImportError as e:
            raise ImportError(f"{INSTALL_HINT} ({e})") from e
        if isinstance(self.server, str):
            target: Any = self.server
        else:
            # The server's stderr goes to a file: its last lines explain a crash.
            self._errlog = tempfile.TemporaryFile("w+")
            params = StdioServerParameters(command=self.server[0], args=self.server[1:],
                                           env=self.env or None)
            target = stdio_client(params, errlog=self._errlog)
        loop = asyncio.new_event_loop()
        self._loop = loop
        threading.Thread(target=loop.run_forever, name="mcp-connection", daemon=True).start()
        ready: Future = Future()

        async def hold() -> None:
            self._stop = asyncio.Event()
            try:
                # Timeouts are ours (_request, open): the SDK's would also bound the
                # handshake by the per-call limit.
                async with Client(target, mode="legacy") as client:
                    self._client = client
                    ready.set_result(True)
                    await self._stop.wait()
            except BaseException as e:  # the server went away, or never came
                if not ready.done():
                    ready.set_exception(ConnectionError(_describe(e)))
                self._lost(f"the MCP server connection ended: {_describe(e)}")
            else:
                self._lost("the MCP server connection was closed")
            finally:  # only once the SDK has stopped the server process
                loop.call_soon(loop.stop)

        self._runner = asyncio.run_coroutine_threadsafe(hold(), loop)
        try:
            ready.result(self.connect_timeout_s)
        except (ConnectionError, FutureTimeout) as e:
            detail = str(e) or f"no answer within {self.connect_timeout_s:g} s"
            self.close()
            raise ConnectionError(f"cannot connect to the MCP server {self.describe()}: "
                                  f"{detail}{self._stderr_tail()}") from None
        self.problem = None

    def close(self) -> None:
        """Close the connection (stops a stdio server). Idempotent; does not block."""
        loop, stop, runner = self._loop, self._stop, self._runner
        connected = self._client is not None
        self._loop = self._stop = self._runner = self._client = None
        if self.problem is None:
            self.problem = "the connection was closed"
        if loop is None:
            return
        if stop is not None:
            loop.call_soon_threadsafe(stop.set)
        if runner is None:
            loop.call_soon_threadsafe(loop.stop)
        elif connected:
            # The SDK stops the server in the background (stdin closed, then SIGTERM and
            # SIGKILL, each bounded), then the loop stops itself; a task cancel could cut
            # that short and leave the process behind.
            pass
        else:  # still in the handshake: only a cancel gets it out
            runner.cancel()
        if self._errlog is not None:
            self._errlog.close()
            self._errlog = None

    def _lost(self, why: str) -> None:
        if self.problem is None:
            self.problem = why

    def describe(self) -> str:
        return self.server if isinstance(self.server, str) else " ".join(self.server)

    def _stderr_tail(self) -> str:
        if self._errlog is None or self._errlog.closed:
            return ""
        try:
            self._errlog.seek(0)
            lines = [ln.strip() for ln in self._errlog.read().splitlines() if ln.strip()]
        except (OSError, ValueError):
            return ""
        return f" (server stderr: {lines[-1][:200]})" if lines else ""

    # -- requests ----------------------------------------------------------------------

    def _request(self, what: str, make: Callable[[Any], Any]) -> Any:
        if not self.alive or self._loop is None:
            raise ToolError(f"{self.problem}; the env reconnects at the next reset")
        future = asyncio.run_coroutine_threadsafe(make(self._client), self._loop)
        try:
            return future.result(self.timeout_s)
        except (FutureTimeout, TimeoutError):
            future.cancel()
            why = f"the MCP server did not answer {what} within {self.timeout_s:g} s"
        except Exception as e:  # noqa: BLE001  (any transport failure ends the connection)
            why = f"the MCP server failed during {what}: {_describe(e)}"
        self.close()
        self.problem = why
        raise ToolError(f"{why}; the connection was closed and reopens at the next reset")

    def list_tools(self) -> list[Any]:
        """Every tool of ``tools/list`` (all pages)."""
        async def fetch(client: Any) -> list[Any]:
            tools, cursor = [], None
            while True:
                page = await client.list_tools(cursor=cursor)
                tools += page.tools
                cursor = page.next_cursor
                if not cursor:
                    return tools

        return self._request("tools/list", fetch)

    def call_tool(self, name: str, arguments: Mapping[str, Any]) -> Any:
        """``tools/call``: the structured result, or the text (JSON-decoded when it is JSON).

        Raises:
            ToolError: The tool reported an error, or the server failed or timed out.
        """
        result = self._request(f"tools/call {name}",
                               lambda client: client.call_tool(name, dict(arguments)))
        texts = [c.text for c in (result.content or []) if getattr(c, "type", "") == "text"]
        if result.is_error:
            raise ToolError(" ".join(texts).strip() or f"{name} failed")
        structured = result.structured_content
        if structured is not None:
            # Servers wrap a non-object result as {"result": ...} (MCP's outputSchema rule).
            if isinstance(structured, dict) and list(structured) == ["result"]:
                return structured["result"]
            return structured
        if len(texts) == 1:
            try:
                return json.loads(texts[0])
            except ValueError:
                return texts[0]
        return texts if texts else [c.model_dump(exclude_none=True) for c in result.content]


def _describe(error: BaseException) -> str:
    while getattr(error, "exceptions", None):  # an exception group: its first cause
        error = error.exceptions[0]  # type: ignore[attr-defined]
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# -- the world -----------------------------------------------------------------------------


class MCPWorld(World):
    """A view of the server for one episode.

    ``fork`` does not copy the server (it cannot): it gives a *trial* view whose tools
    follow the trial rules above. A trial view that ran a state-changing tool puts the
    server back when it is closed (the env closes it right after the trial, so a checker
    given the view still sees what the trial did). ``calls`` lists the episode's real
    state-changing calls, replayed after the reset hook; the fingerprint is their digest.
    """

    def __init__(self, connection: MCPConnection, reset: ResetHook = None,
                 trial: bool = False, calls: list[tuple[str, dict[str, Any], Any]] | None = None
                 ) -> None:
        self.connection = connection
        self.reset = reset
        self.trial = trial
        self.calls = [] if calls is None else calls
        self.dirty = False  # a trial view that changed the server

    def fork(self) -> MCPWorld:
        return MCPWorld(self.connection, self.reset, trial=True, calls=list(self.calls))

    def fingerprint(self) -> str:
        blob = json.dumps([c[:2] for c in self.calls], sort_keys=True, default=repr)
        return hashlib.sha256(blob.encode()).hexdigest()

    def call(self, name: str, **arguments: Any) -> Any:
        """Call a server tool directly (for checkers: read the server's final state)."""
        return self.connection.call_tool(name, arguments)

    @property
    def state(self) -> MCPWorld:
        """What a task's ``check(answer, state)`` gets: this world (``state.call(...)``)."""
        return self

    def restore(self) -> list[str]:
        """Run the reset hook, then replay the real calls; returns the replays that differ."""
        run_reset(self.connection, self.reset)
        drift = []
        for name, args, result in self.calls:
            try:
                again: Any = self.connection.call_tool(name, args)
            except ToolError as e:
                again = f"error: {e}"
            if again != result:
                drift.append(name)
        return drift

    def close(self) -> None:
        """A trial view that changed the server puts it back (reset hook, then the real
        calls replayed). The connection itself outlives episodes."""
        if not self.dirty:
            return
        self.dirty = False
        drift = self.restore()
        if drift:
            raise ToolError(f"the trial ran, but putting the server back gave other results "
                            f"for {', '.join(drift)}: this server is not deterministic, so its "
                            "state may differ from before the trial")


def run_reset(connection: MCPConnection, reset: ResetHook) -> None:
    if reset is None:
        return
    if callable(reset):
        reset(connection)
    else:
        connection.call_tool(reset, {})


def _tool_spec(tool: Any) -> ToolSpec:
    annotations = tool.annotations
    read_only = bool(annotations is not None and annotations.read_only_hint)
    schema = copy.deepcopy(tool.input_schema or {})
    schema.setdefault("type", "object")
    description = (tool.description or tool.title or "").strip()
    name = tool.name  # what tools/call gets; the agent calls it by a plain name
    exposed = re.sub(r"[^A-Za-z0-9_-]", "_", name)

    def run(world: MCPWorld, **arguments: Any) -> Any:
        if not world.trial or read_only:
            result = world.connection.call_tool(name, arguments)
            if not read_only and not world.trial:
                world.calls.append((name, copy.deepcopy(arguments), copy.deepcopy(result)))
            return result
        if world.reset is None:
            raise ToolError(f"'{name}' may change the server's state and an MCP server cannot "
                            "be copied, so it cannot be trialled here: trial a read-only "
                            "tool, or call it for real with <call>")
        world.dirty = True  # undone when the trial view is closed, even after an error
        return world.connection.call_tool(name, arguments)

    try:
        return ToolSpec(exposed, description, schema, side_effects=not read_only, fn=run)
    except Exception as e:  # jsonschema's SchemaError and ours
        raise SpecError(f"MCP tool {name!r}: its inputSchema is not a valid JSON Schema "
                        f"object ({e}); leave the tool out with hide=[{name!r}]") from None


# -- tasks and the domain ------------------------------------------------------------------


class MCPDomain(Domain):
    """A :class:`Domain` over a live MCP server (see :func:`mcp_domain`)."""

    connection: MCPConnection

    def close(self) -> None:
        self.connection.close()


def mcp_domain(server: Server, tasks: Sequence[Task | Mapping[str, Any]], *,
               name: str = "mcp", title: str = "MCP", description: str | None = None,
               reset: ResetHook = None, hide: Sequence[str] = (), timeout_s: float = 10.0,
               env: Mapping[str, str] | None = None) -> MCPDomain:
    """Connect to an MCP server and make its tools a :class:`Domain`.

    Args:
        server: A command line (stdio) or an ``http(s)://`` URL (streamable HTTP).
        tasks: The episodes, as for :func:`tool_gym.domain_from_functions`: dicts
            ``{"query", "answer" or "check", "plan", "golden_answer"}`` or :class:`Task`
            objects; task seed ``s`` plays ``tasks[s % len(tasks)]``. A ``check(answer,
            state)`` gets the episode's :class:`MCPWorld`: ``state.call(tool, **args)``
            reads the server.
        name, title, description: As :class:`Domain`.
        reset: A server tool name or ``hook(connection)`` that puts the server back to its
            starting state; run before every episode, and what makes trials of
            state-changing tools possible (see the module docstring).
        hide: Server tools the agent must not see (a reset tool is hidden anyway).
        timeout_s: Seconds any one request may take.
        env: Extra environment variables for a stdio server.

    Raises:
        ConnectionError: The server cannot be reached.
        SpecError: A tool's inputSchema is not a valid JSON Schema object.
    """
    connection = MCPConnection(server, timeout_s=timeout_s, env=env)
    connection.open()
    try:
        hidden = set(hide) | ({reset} if isinstance(reset, str) else set())
        listed = connection.list_tools()
        names = sorted(t.name for t in listed)
        if isinstance(reset, str) and reset not in names:
            raise ValueError(f"reset tool {reset!r} is not one of the server's tools: "
                             f"{', '.join(names)}")
        tools = [_tool_spec(t) for t in listed if t.name not in hidden]
        task_list = [task_from_spec(t, f"{name} task {i}") for i, t in enumerate(tasks)]
        if not task_list:
            raise ValueError("an MCP domain needs at least one task")
        for task in task_list:
            unknown = [s.tool for s in task.plan if s.tool not in {t.name for t in tools}]
            if unknown:
                raise ValueError(f"{task.task_id}: plan calls {unknown[0]!r}, which the server "
                                 f"does not list (tools: {', '.join(t.name for t in tools)})")
    except BaseException:
        connection.close()
        raise

    def make_world(rng: np.random.Generator) -> MCPWorld:
        if not connection.alive:  # a server lost in an earlier episode comes back here
            connection.open()
        run_reset(connection, reset)
        return MCPWorld(connection, reset)

    def make_task(rng: np.random.Generator, world: World, seed: int) -> Task:
        return copy.copy(task_list[seed % len(task_list)])

    domain = MCPDomain(name=name, title=title,
                       description=description or f"MCP server {connection.describe()}",
                       tools=tools, make_world=make_world, make_task=make_task, split="unseen")
    domain.connection = connection
    return domain
