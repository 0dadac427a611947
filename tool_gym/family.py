"""Domain families: domains made on demand from a key, such as generated APIs.

A family owns a name prefix: ``get_domain("<prefix>_<key>")`` asks the family's
``resolve`` for that domain, so a generated API is an ordinary :class:`Domain` to drift,
the explorer and the teachers. A family's domains are never discovered one by one and so
never join ``Seen-v0``, ``Unseen-v0`` or ``Drift-v0``: a family registers its own ids
(``ToolMaster/<title>-v0`` and ``ToolMaster/<title>-Drift-v0``) on its own entry point.
A module of ``tool_gym.envs`` declares one as ``FAMILY = DomainFamily(...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tool_gym.domain import Domain


@dataclass(frozen=True)
class DomainFamily:
    """Domains made from a key.

    Attributes:
        prefix: Domain names of the family are ``<prefix>_<key>``.
        title: CamelCase name for ids (``ToolMaster/<title>-v0``).
        resolve: ``resolve(name) -> Domain | None`` for a full domain name.
        entry_point: The env class of the family's ids (``"pkg.mod:Cls"``).
    """

    prefix: str
    title: str
    resolve: Callable[[str], Domain | None]
    entry_point: str
