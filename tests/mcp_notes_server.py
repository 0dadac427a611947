"""A small MCP server for the MCP importer's tests: a notebook with state.

Run as ``python tests/mcp_notes_server.py [PID_FILE]`` (stdio) or with ``--http PORT``.
Besides its notes it has tools that misbehave on purpose: ``wait`` sleeps (a hang) and
``noise`` writes bytes that are not JSON-RPC onto the protocol stream (garbage).
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

READ_ONLY = ToolAnnotations(readOnlyHint=True)
server = MCPServer("notes")
NOTES: dict[str, str] = {}


@server.tool(annotations=READ_ONLY)
def list_notes() -> list[str]:
    """Titles of every note, oldest first."""
    return list(NOTES)


@server.tool(annotations=READ_ONLY)
def read_note(title: str) -> str:
    """The text of one note.

    Args:
        title: The note's title, as list_notes gives it.
    """
    if title not in NOTES:
        raise ToolError(f"no note titled {title!r}; list_notes gives the titles")
    return NOTES[title]


@server.tool(name="notes.count", annotations=READ_ONLY)
def count_notes() -> int:
    """How many notes there are (a tool name with a dot)."""
    return len(NOTES)


@server.tool()
def add_note(title: str, text: str) -> str:
    """Create a note.

    Args:
        title: A new title.
        text: What the note says.
    """
    if title in NOTES:
        raise ToolError(f"a note titled {title!r} exists")
    NOTES[title] = text
    return f"added {title!r}"


@server.tool()
def reset_notes() -> str:
    """Put the notebook back to its starting state (two notes)."""
    NOTES.clear()
    NOTES.update({"groceries": "eggs, rice", "todo": "call Ada"})
    return "reset"


@server.tool(annotations=READ_ONLY)
def wait(seconds: float) -> str:
    """Sleep, then answer (a server that hangs).

    Args:
        seconds: How long to sleep.
    """
    time.sleep(seconds)
    return "awake"


@server.tool(annotations=READ_ONLY)
def noise() -> str:
    """Write bytes that are not JSON-RPC onto the protocol stream (a server that answers
    garbage), then hang."""
    os.write(sys.stdout.fileno(), b"\x00garbage{{{ not json\n")
    time.sleep(60)
    return "unreachable"


if __name__ == "__main__":
    reset_notes()
    if "--http" in sys.argv:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[-1]))
    else:
        if len(sys.argv) > 1:
            with open(sys.argv[1], "w") as f:
                f.write(str(os.getpid()))
        server.run()
