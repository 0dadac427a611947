"""Serve the envs through OpenEnv (``pip install "toolmaster-gym[serve]"``).

- :mod:`tool_gym.serving.models`: the typed action, observation and state.
- :mod:`tool_gym.serving.server`: the OpenEnv ``Environment`` (one ``gym.make`` env per
  session) and the app made by ``openenv``'s ``create_app``; ``tool-gym serve`` runs it.
- :mod:`tool_gym.serving.client`: the OpenEnv ``EnvClient`` for it.
- :mod:`tool_gym.remote`: ``gym.make("ToolMaster/Remote-v0", url=..., env_id=...)``.

Nothing here is imported by ``import tool_gym``: openenv, fastapi and uvicorn load only
when one of these modules is imported.

Importing this package imports ``openenv.core`` without gradio. ``openenv.core``'s
``__init__`` imports ``env_server``, whose ``__init__`` imports OpenEnv's Gradio web
interface (``web_interface``), which imports ``gradio``: seconds of start-up (tens of
CPU-seconds per process on a loaded machine) for a UI these servers never mount (OpenEnv
mounts it only when ``ENABLE_WEB_INTERFACE`` is set). ``env_server`` treats that import
as optional (``create_web_interface_app = None`` when it raises ``ModuleNotFoundError``),
so gradio is hidden for the length of that one import and nothing else changes: no
OpenEnv code is patched, and a later ``import gradio`` (or ``ENABLE_WEB_INTERFACE=true``,
whose ``create_app`` imports the web interface itself) works as usual. Pinned by a test
(``import tool_gym.serving.server`` and ``.client`` leave ``gradio`` out of
``sys.modules``) against ``openenv-core==0.3.0``.
"""

from __future__ import annotations

import sys


def _import_openenv_core() -> None:
    if "openenv.core" in sys.modules:  # imported already (with its web interface or not)
        return
    hide = "gradio" not in sys.modules
    if hide:
        sys.modules["gradio"] = None  # type: ignore[assignment]  # import -> ModuleNotFoundError
    try:
        import openenv.core  # noqa: F401
    finally:
        if hide and "gradio" in sys.modules and sys.modules["gradio"] is None:
            del sys.modules["gradio"]


_import_openenv_core()
