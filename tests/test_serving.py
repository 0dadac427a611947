"""The OpenEnv server, its client and ToolMaster/Remote-v0: identical episodes, isolation,
caps, reaping and clear errors. Servers run on 127.0.0.1 in a thread of the test process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import gymnasium as gym
import pytest

import tool_gym
from tool_gym.oracle import GoldenPlanPolicy
from tool_gym.registration import env_ids

pytest.importorskip("openenv")
uvicorn = pytest.importorskip("uvicorn")
websockets_sync = pytest.importorskip("websockets.sync.client")
websockets_exceptions = pytest.importorskip("websockets.exceptions")
httpx = pytest.importorskip("httpx")

from tool_gym.serving.server import ServeConfig, make_app, uvicorn_options  # noqa: E402


class Server:
    """A uvicorn server of :func:`make_app` in a daemon thread, stopped by :meth:`stop`,
    with the WebSocket settings :func:`~tool_gym.serving.server.serve` uses."""

    def __init__(self, config: ServeConfig, ws_per_message_deflate: bool = False,
                 **app_kwargs) -> None:
        self.config = config
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        app = make_app(config, **app_kwargs)
        self.server = uvicorn.Server(uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="critical",
            **uvicorn_options(app_kwargs.get("max_body_bytes", 256 * 1024),
                              ws_per_message_deflate)))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def wait_sessions(self, n: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.config.live == n:
                return True
            time.sleep(0.05)
        return self.config.live == n


@pytest.fixture(scope="module")
def server():
    srv = Server(ServeConfig("ToolMaster/Weather-v0", env_ids=["*"], max_resets_per_s=20),
                 max_sessions=8, session_timeout_s=60)
    yield srv
    srv.stop()


def ws_send(ws, message: dict | str) -> dict:
    ws.send(message if isinstance(message, str) else json.dumps(message))
    return json.loads(ws.recv(timeout=30))


def play_both(local, remote, seed: int, extra_actions: list[str]) -> int:
    """Play the same messages on both; assert every return is identical. Returns steps."""
    expected = local.reset(seed=seed)
    got = remote.reset(seed=seed)
    assert got == expected
    try:
        golden = GoldenPlanPolicy(local)
    except TypeError:  # an env family without the golden-plan oracle
        golden = None
    steps = 0
    for action in extra_actions:
        assert remote.step(action) == local.step(action)
        steps += 1
    done = False
    while not done and golden is not None:
        action = golden.act()
        result = local.step(action)
        assert remote.step(action) == result
        done = result[2] or result[3]
        steps += 1
    if golden is not None:
        assert result[4]["success"] is True
    # a reset without a seed continues the same seeded stream on both sides
    assert remote.reset() == local.reset()
    return steps


JUNK = ["hello", '<trial>{"name": "nope", "arguments": {}}</trial>', "<call>{bad json</call>"]


@pytest.mark.parametrize("env_id", env_ids())
def test_every_id_plays_the_same_episode_through_the_server(server, env_id):
    local = gym.make(env_id)
    remote = gym.make("ToolMaster/Remote-v0", url=server.url, env_id=env_id)
    try:
        assert play_both(local, remote, seed=11, extra_actions=JUNK) >= len(JUNK)
    finally:
        local.close()
        remote.close()


def test_kwargs_drift_stale_docs_and_turn_limit_cross_the_wire(server):
    kwargs = {"split": "test", "stale_docs": True, "drift_level": "heavy", "max_turns": 3,
              "reward_weights": {"malformed": -0.5}, "catalogue": "json"}
    local = gym.make("ToolMaster/Drift-v0", **kwargs)
    remote = gym.make("ToolMaster/Remote-v0", url=server.url, env_id="ToolMaster/Drift-v0",
                      **kwargs)
    try:
        assert remote.reset(seed=5) == local.reset(seed=5)
        for action in ["x", "y", "z"]:  # the third hits the turn limit: truncated
            assert remote.step(action) == local.step(action)
        assert remote.step("after the end") == local.step("after the end")
        mutations = [{"kind": "rename_tool", "tool": "get_forecast", "style": "opaque"}]
        local2 = gym.make("ToolMaster/Weather-Drift-v0", mutations=mutations)
        remote2 = gym.make("ToolMaster/Remote-v0", url=server.url,
                           env_id="ToolMaster/Weather-Drift-v0", mutations=mutations)
        assert remote2.reset(seed=1, options={"task_seed": 7}) == local2.reset(
            seed=1, options={"task_seed": 7})
        assert remote2.step("y" * 9000) == local2.step("y" * 9000)  # over max_action_chars
        remote2.close()
        local2.close()
    finally:
        local.close()
        remote.close()


def test_remote_env_passes_check_env(server):
    from gymnasium.utils.env_checker import check_env

    env = gym.make("ToolMaster/Remote-v0", url=server.url, env_id="ToolMaster/Seen-v0",
                   render_mode="ansi")
    try:
        check_env(env.unwrapped, skip_render_check=False)
    finally:
        env.close()


def test_sessions_on_the_files_domain_never_see_each_others_sandbox(server):
    def write_then_read(ws, content: str) -> tuple[str, str]:
        ws_send(ws, {"type": "reset", "data": {"seed": 3, "env_id": "ToolMaster/Files-v0"}})
        call = {"name": "write_file", "arguments": {"path": "shared.txt", "content": content}}
        wrote = ws_send(ws, {"type": "step", "data": {"message": f"<call>{json.dumps(call)}</call>"}})
        return wrote, call

    with websockets_sync.connect(server.ws_url) as a, websockets_sync.connect(server.ws_url) as b:
        wrote_a, _ = write_then_read(a, "from A")
        wrote_b, _ = write_then_read(b, "from B")
        assert "ERROR" not in wrote_a["data"]["observation"]["text"]
        read = '<call>{"name": "read_file", "arguments": {"path": "shared.txt"}}</call>'
        text_a = ws_send(a, {"type": "step", "data": {"message": read}})["data"]["observation"]
        text_b = ws_send(b, {"type": "step", "data": {"message": read}})["data"]["observation"]
        assert "from A" in text_a["text"] and "from B" not in text_a["text"]
        assert "from B" in text_b["text"] and "from A" not in text_b["text"]


def test_malformed_requests_get_clear_errors_and_the_server_keeps_serving(server):
    with websockets_sync.connect(server.ws_url) as ws:
        bad_json = ws_send(ws, "{not json")
        assert bad_json["type"] == "error" and bad_json["data"]["code"] == "INVALID_JSON"
        early = ws_send(ws, {"type": "step", "data": {"message": "hi"}})
        assert early["type"] == "error" and "send a reset first" in early["data"]["message"]
        wrong_type = ws_send(ws, {"type": "step", "data": {"message": 123}})
        assert wrong_type["type"] == "error"
        extra = ws_send(ws, {"type": "step", "data": {"message": "hi", "secret": 1}})
        assert extra["type"] == "error"
        unknown_field = ws_send(ws, {"type": "reset", "data": {"sede": 1}})
        assert "unknown reset field" in unknown_field["data"]["message"]
        unknown_id = ws_send(ws, {"type": "reset", "data": {"env_id": "ToolMaster/Wether-v0"}})
        assert "Did you mean ToolMaster/Weather-v0" in unknown_id["data"]["message"]
        bad_kwargs = ws_send(ws, {"type": "reset", "data": {"env_kwargs": {"split": "nope"}}})
        assert "split must be" in bad_kwargs["data"]["message"]
        unknown_type = ws_send(ws, {"type": "teleport"})
        assert unknown_type["data"]["code"] == "UNKNOWN_TYPE"
        ok = ws_send(ws, {"type": "reset", "data": {"seed": 0}})
        assert ok["type"] == "observation" and ok["data"]["observation"]["domain"] == "weather"
    # an oversized message closes that connection only
    with websockets_sync.connect(server.ws_url, max_size=None) as big, \
            websockets_sync.connect(server.ws_url) as other:
        ws_send(other, {"type": "reset", "data": {"seed": 0}})
        big.send(json.dumps({"type": "step", "data": {"message": "x" * 400_000}}))
        with pytest.raises(websockets_exceptions.ConnectionClosed) as closed:
            big.recv(timeout=10)
        assert closed.value.rcvd.code == 1009  # message too big
        assert ws_send(other, {"type": "step", "data": {"message": "hi"}})["type"] == "observation"


def test_a_flood_of_resets_is_refused_with_a_message_and_the_session_stays_usable():
    srv = Server(ServeConfig("ToolMaster/Weather-v0", max_resets_per_s=2), max_sessions=2)
    try:
        with websockets_sync.connect(srv.ws_url) as ws:
            for _ in range(10):  # sent at once: the server sees a burst whatever its load
                ws.send(json.dumps({"type": "reset", "data": {}}))
            replies = [json.loads(ws.recv(timeout=60)) for _ in range(10)]
            refused = [r for r in replies if r["type"] == "error"]
            assert refused and "too many resets" in refused[0]["data"]["message"]
            time.sleep(1.0)
            assert ws_send(ws, {"type": "reset", "data": {"seed": 1}})["type"] == "observation"
    finally:
        srv.stop()


def test_http_endpoints_health_metadata_schema_and_refusals(server):
    assert httpx.get(f"{server.url}/health").json()["status"] == "healthy"
    meta = httpx.get(f"{server.url}/metadata").json()
    assert meta["name"] == "ToolMaster" and "ToolMaster/Weather-v0" in meta["description"]
    schema = httpx.get(f"{server.url}/schema").json()
    assert "message" in schema["action"]["properties"]
    assert {"text", "reward_terms", "success", "tools"} <= set(schema["observation"]["properties"])
    first = httpx.post(f"{server.url}/reset", json={"seed": 0})
    assert first.status_code == 200 and first.json()["observation"]["domain"] == "weather"
    stateless = httpx.post(f"{server.url}/step", json={"action": {"message": "hi"}})
    assert stateless.status_code == 409 and "/ws" in stateless.json()["detail"]
    assert httpx.post(f"{server.url}/step", content=b"{oops",
                      headers={"content-type": "application/json"}).status_code == 422
    assert httpx.post(f"{server.url}/reset", content=b"x" * 300_000).status_code == 413


def test_a_full_server_refuses_a_session_clearly_and_a_killed_client_frees_its_slot():
    srv = Server(ServeConfig("ToolMaster/Weather-v0"), max_sessions=2, session_timeout_s=1.0)
    try:
        script = (f"import json, sys, time\nfrom websockets.sync.client import connect\n"
                  f"ws = connect({srv.ws_url!r})\n"
                  "ws.send(json.dumps({'type': 'reset', 'data': {'seed': 0}})); ws.recv()\n"
                  "print('ready', flush=True)\ntime.sleep(60)\n")
        child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                 text=True)
        assert child.stdout.readline().strip() == "ready"
        with websockets_sync.connect(srv.ws_url) as second:
            ws_send(second, {"type": "reset", "data": {"seed": 0}})
            with websockets_sync.connect(srv.ws_url) as third:
                refused = json.loads(third.recv(timeout=10))
                assert refused["data"]["code"] == "CAPACITY_REACHED"
                assert refused["data"]["max_sessions"] == 2
            os.kill(child.pid, signal.SIGKILL)  # vanishes mid-episode
            child.wait(timeout=10)
            deadline = time.monotonic() + 5
            while srv.config.live > 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert srv.config.live <= 1, "the killed client's session leaked"
            # a client that stays connected but idle is reaped after the timeout
            assert srv.wait_sessions(0, timeout=10), f"{srv.config.live} sessions left"
        with websockets_sync.connect(srv.ws_url) as again:
            assert ws_send(again, {"type": "reset", "data": {"seed": 0}})["type"] == "observation"
    finally:
        srv.stop()


def test_import_tool_gym_imports_no_server_or_cluster_library():
    code = ("import sys, gymnasium as gym, tool_gym\n"
            "gym.spec('ToolMaster/Remote-v0')\n"
            "print(sorted(m for m in ('openenv', 'fastapi', 'uvicorn', 'ray', 'torch', "
            "'starlette') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_serving_modules_import_openenv_without_gradio():
    """OpenEnv's ``env_server`` imports its Gradio web UI (seconds of start-up) unless the
    import fails; ``tool_gym.serving`` hides gradio for that one import only."""
    code = ("import sys\n"
            "import tool_gym.serving.server, tool_gym.serving.client, tool_gym.remote\n"
            "import openenv.core.env_server as es\n"
            "print('gradio' in sys.modules, sys.modules.get('gradio', 0) is None, "
            "es.create_web_interface_app is None, callable(es.create_app))\n"
            "import gradio\n"  # hidden for that import only: importable afterwards
            "print(gradio.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False", "True", "True", "gradio"]


def test_resets_and_steps_run_on_the_event_loop_not_in_a_session_thread(server):
    """OpenEnv awaits ``reset_async`` / ``step_async`` inline when the Environment class
    overrides them (its test: ``env.step_async.__func__ is not Environment.step_async``)
    and otherwise hops to the session's thread; both run on the server's loop thread."""
    from openenv.core.env_server import Environment

    from tool_gym.serving.server import ToolMasterEnvironment

    assert ToolMasterEnvironment.reset_async is not Environment.reset_async
    assert ToolMasterEnvironment.step_async is not Environment.step_async
    threads = []
    reset, step = ToolMasterEnvironment.reset, ToolMasterEnvironment.step

    def spy(method):
        def wrapped(self, *args, **kwargs):
            threads.append(threading.get_ident())
            return method(self, *args, **kwargs)
        return wrapped

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ToolMasterEnvironment, "reset", spy(reset))
        mp.setattr(ToolMasterEnvironment, "step", spy(step))
        with websockets_sync.connect(server.ws_url) as ws:
            assert ws_send(ws, {"type": "reset", "data": {"seed": 1}})["type"] == "observation"
            assert ws_send(ws, {"type": "step", "data": {"message": "hi"}})["type"] == (
                "observation")
    assert len(threads) == 2 and set(threads) == {server.thread.ident}


def test_websocket_sessions_run_without_per_message_deflate():
    """Deflate is off at the server (a client asking for it gets none) and the client does
    not ask; the server's option turns it back on."""
    import asyncio

    from tool_gym.serving.client import ToolMasterClient

    def negotiated(srv: Server) -> list[str]:
        with websockets_sync.connect(srv.ws_url, compression="deflate") as ws:
            assert ws_send(ws, {"type": "reset", "data": {"seed": 0}})["type"] == "observation"
            return [type(x).__name__ for x in ws.protocol.extensions]

    async def client_extensions(url: str) -> list[str]:
        async with ToolMasterClient(url) as client:
            assert (await client.reset(seed=0)).observation.text
            return [type(x).__name__ for x in client._ws.protocol.extensions]

    plain = Server(ServeConfig("ToolMaster/Weather-v0"), max_sessions=2)
    deflate = Server(ServeConfig("ToolMaster/Weather-v0"), ws_per_message_deflate=True,
                     max_sessions=2)
    try:
        assert negotiated(plain) == []
        assert negotiated(deflate) == ["PerMessageDeflate"]
        assert asyncio.run(client_extensions(deflate.url)) == []
    finally:
        plain.stop()
        deflate.stop()


def test_remote_id_is_registered_but_not_an_env_of_the_suite():
    assert "ToolMaster/Remote-v0" in gym.registry
    assert "ToolMaster/Remote-v0" not in env_ids()
    assert tool_gym.registration.REMOTE_ID == "ToolMaster/Remote-v0"


def test_serve_command_parses_env_args_and_says_where_it_binds(capsys):
    from tool_gym import cli

    with pytest.raises(SystemExit) as e:
        cli.main(["serve", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "--max-sessions" in text and "--session-timeout" in text and "loopback" in text
    assert cli._parse_kwargs(["stale_docs=true", "split=test", "max_turns=3"]) == {
        "stale_docs": True, "split": "test", "max_turns": 3}


def test_two_worker_processes_share_one_port_and_keep_their_sessions_isolated():
    """``tool-gym serve --workers 2``: sessions land in both processes, each stays in its
    own, and none sees another's sandbox, in the other process or in the same one."""
    psutil = pytest.importorskip("psutil")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "tool_gym.cli", "serve", "ToolMaster/Files-v0", "--port",
         str(port), "--workers", "2", "--max-sessions", "4", "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"ws://127.0.0.1:{port}/ws"

    def owner(ws) -> int | None:
        """The worker process holding this connection's server side."""
        mine = ws.socket.getsockname()[1]
        for worker in psutil.Process(server.pid).children():
            if any(c.raddr and c.raddr.port == mine for c in worker.net_connections("tcp")):
                return worker.pid
        return None

    def step(ws, name: str, arguments: dict) -> str:
        call = json.dumps({"name": name, "arguments": arguments})
        reply = ws_send(ws, {"type": "step", "data": {"message": f"<call>{call}</call>"}})
        return reply["data"]["observation"]["text"]

    held: dict[int | None, list] = {}  # worker pid -> [(socket, what it wrote)], 2 each
    sockets = contextlib.ExitStack()
    try:
        deadline = time.monotonic() + 240  # two processes importing openenv on a busy CPU
        while len(held) < 2 or min(len(v) for v in held.values()) < 2:
            assert time.monotonic() < deadline, f"sessions held by {list(held)} only"
            assert server.poll() is None, server.communicate()[1][-2000:]
            try:
                ws = websockets_sync.connect(url, open_timeout=5)
            except OSError:
                time.sleep(0.5)
                continue
            mine = held.setdefault(owner(ws), [])
            if len(mine) == 2:
                with ws:
                    continue
            sockets.enter_context(ws)
            label = f"written by session {sum(map(len, held.values()))}"
            ws_send(ws, {"type": "reset", "data": {"seed": 3}})
            assert "ERROR" not in step(ws, "write_file", {"path": "shared.txt",
                                                          "content": label})
            mine.append((ws, label))
        assert None not in held and len(held) == 2
        labels = [label for pairs in held.values() for _, label in pairs]
        for pairs in held.values():
            for ws, label in pairs:
                text = step(ws, "read_file", {"path": "shared.txt"})
                assert [x for x in labels if x in text] == [label], text
    finally:
        sockets.close()
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
