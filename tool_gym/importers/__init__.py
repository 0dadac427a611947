"""Importers: envs from tools that live outside this package (MCP servers, BFCL datasets).

Each importer is a module of its own that loads its optional dependency lazily, so
``import tool_gym`` never imports ``mcp`` or ``bfcl_eval``.
"""
