"""Drift vocabulary: each domain declares the synonyms of its own words.

The renames every built-in domain gets are pinned by digests captured before the words
moved out of ``tool_gym/drift.py`` into the domain modules
(``python tests/test_vocabulary.py --write`` recaptures them; only do that on purpose).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

import tool_gym  # noqa: F401
from tool_gym.drift import apply_mutations
from tool_gym.registration import domains

GOLDEN = Path(__file__).parent / "data" / "drift_renames.json"
SEEDS = 50
# Every kind that reads the vocabulary, alone and composed (a second rename reads the words
# of the first one's output; a typo can land on another word).
SEQUENCES = [
    [{"kind": "rename_tool", "style": "synonym", "tools": "all"}],
    [{"kind": "rename_params", "style": "synonym", "tools": "all"}],
    [{"kind": "distractor_tools", "tools": "all"}],
    [{"kind": "rename_tool", "style": "synonym", "tools": "all"},
     {"kind": "rename_tool", "style": "synonym", "tools": "all"}],
    [{"kind": "rename_params", "style": "synonym", "tools": "all"},
     {"kind": "rename_params", "style": "synonym", "tools": "all"}],
    [{"kind": "name_noise", "level": "typo", "params": True, "tools": "all"},
     {"kind": "rename_tool", "style": "synonym", "tools": "all"},
     {"kind": "rename_params", "style": "synonym", "tools": "all"}],
    [{"kind": "name_noise", "level": "misleading", "tools": "all"},
     {"kind": "rename_tool", "style": "synonym", "tools": "all"}],
    [{"kind": "rename_tool", "style": "synonym", "tools": "all"},
     {"kind": "distractor_tools", "tools": "all"}],
]


def renames_digest(domain) -> str:
    h = hashlib.sha256()
    for seed in range(SEEDS):
        for seq in SEQUENCES:
            surface = apply_mutations(domain, seq, seed=seed)
            h.update(json.dumps([surface.applied, list(surface.tools)], sort_keys=True).encode())
    return h.hexdigest()




def _built_in():
    return [d for d in domains().values()
            if getattr(d.make_task, "__module__", "").startswith("tool_gym.envs.")]


@pytest.mark.parametrize("domain", _built_in(), ids=lambda d: d.name)
def test_renames_of_built_in_domains_are_unchanged(domain):
    golden = json.loads(GOLDEN.read_text())
    assert renames_digest(domain) == golden[domain.name], domain.name


if __name__ == "__main__" and "--write" in sys.argv:
    GOLDEN.write_text(json.dumps({d.name: renames_digest(d) for d in _built_in()}, indent=1,
                                 sort_keys=True) + "\n")
