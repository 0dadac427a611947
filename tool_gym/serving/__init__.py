"""Serve the envs through OpenEnv (``pip install "toolmaster-gym[serve]"``).

- :mod:`tool_gym.serving.models`: the typed action, observation and state.
- :mod:`tool_gym.serving.server`: the OpenEnv ``Environment`` (one ``gym.make`` env per
  session) and the app made by ``openenv``'s ``create_app``; ``tool-gym serve`` runs it.
- :mod:`tool_gym.serving.client`: the OpenEnv ``EnvClient`` for it.
- :mod:`tool_gym.remote`: ``gym.make("ToolMaster/Remote-v0", url=..., env_id=...)``.

Nothing here is imported by ``import tool_gym``: openenv, fastapi and uvicorn load only
when one of these modules is imported.
"""
