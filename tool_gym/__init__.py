"""ToolMaster Gym: tool-use environments with seen, unseen and drifted tool APIs.

Importing the package registers every ``ToolMaster/...`` id with Gymnasium, including
those of the domains that installed packages declare in the entry-point group
``tool_gym.domains``. :func:`register_domain` adds a domain at run time and
:func:`check_domain` applies the contract of the built-in domains to any domain;
:func:`domain_from_functions` and :func:`domain_from_openai` make a domain from typed
functions or OpenAI tool specs. It never imports torch.
"""

from tool_gym.domain import Domain, seed_split
from tool_gym.errors import DomainError, SpecError, ToolBackendError, ToolError, ToolGymError
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
    "Domain", "DomainError", "Ref", "SandboxWorld", "SQLiteWorld", "SpecError", "Step", "Task", "ToolBackendError",
    "ToolError", "ToolGymError", "ToolSpec", "World", "all_of", "answer_in_all", "answer_is", "answer_mentions",
    "check_domain", "domain_from_functions", "domain_from_openai", "lookup_id", "register_domain", "seed_split", "tool", "unregister_domain",
    "world_has",
]

from tool_gym.contract import check_domain  # noqa: E402
from tool_gym.importers.functions import domain_from_functions, domain_from_openai  # noqa: E402
from tool_gym.registration import register_domain, register_envs, unregister_domain  # noqa: E402

register_envs()
