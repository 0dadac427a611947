"""ToolMaster Gym: tool-use environments with seen, unseen and drifted tool APIs.

Importing the package registers every ``ToolMaster/...`` id with Gymnasium. It never
imports torch.
"""

from tool_gym.domain import Domain, seed_split
from tool_gym.errors import SpecError, ToolBackendError, ToolError, ToolGymError
from tool_gym.spec import ToolSpec, tool
from tool_gym.task import (
    Ref,
    Step,
    Task,
    all_of,
    answer_in_all,
    answer_is,
    answer_mentions,
    world_has,
)
from tool_gym.world import SandboxWorld, SQLiteWorld, World, lookup_id

__version__ = "0.1.0"

__all__ = [
    "Domain", "Ref", "SandboxWorld", "SQLiteWorld", "SpecError", "Step", "Task", "ToolBackendError",
    "ToolError", "ToolGymError", "ToolSpec", "World", "all_of", "answer_in_all", "answer_is", "answer_mentions",
    "lookup_id", "seed_split", "tool", "world_has",
]

from tool_gym.registration import register_envs  # noqa: E402

register_envs()
