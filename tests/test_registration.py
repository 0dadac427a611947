"""Users' domains: register_domain and its refusals, explicit suites, entry points, a package."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import tool_gym
from tool_gym import Domain, DomainError, Step, Task, World, answer_is, tool
from tool_gym.drift import apply_mutations
from tool_gym.env import ToolEnv
from tool_gym.oracle import GoldenPlanPolicy, run_episode
from tool_gym.registration import built_in_domains, domains, suite_domains

ROOT = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Shelf(World):
    books: dict


@tool
def count_books(world: Shelf, author: str) -> int:
    """How many books of an author the shelf holds.

    Args:
        author: The author's surname, e.g. "Austen".
    """
    return world.books.get(author, 0)


@tool(side_effects=True)
def add_book(world: Shelf, author: str) -> int:
    """Put one more book of an author on the shelf; returns the new count.

    Args:
        author: The author's surname.
    """
    world.books[author] = world.books.get(author, 0) + 1
    return world.books[author]


AUTHORS = ["Austen", "Borges", "Calvino", "Dickens"]


def _world(rng: np.random.Generator) -> Shelf:
    return Shelf({a: int(rng.integers(0, 5)) for a in AUTHORS})


def _task(rng: np.random.Generator, world: Shelf, seed: int) -> Task:
    author = AUTHORS[int(rng.integers(len(AUTHORS)))]
    return Task("", "", f"How many books by {author} are on the shelf?",
                [Step("count_books", {"author": author})], str(world.books[author]),
                answer_is(world.books[author]))


def shelf(**changes) -> Domain:
    fields = dict(name="shelf", title="Shelf", description="A bookshelf.",
                  tools=[count_books, add_book], make_world=_world, make_task=_task,
                  split="unseen", synonyms={"books": ["volumes"]})
    fields.update(changes)
    return Domain(**fields)


@pytest.fixture
def registered():
    names = []

    def register(domain, **kwargs):
        ids = tool_gym.register_domain(domain, **kwargs)
        names.append(domain.name)
        return ids

    yield register
    for name in names:
        if name in domains() and name not in built_in_domains():
            tool_gym.unregister_domain(name)


def test_a_registered_domain_gets_its_ids_and_plays_through_gym_make(registered):
    ids = registered(shelf())
    assert ids == ["ToolMaster/Shelf-v0", "ToolMaster/Shelf-Drift-v0"]
    env = gym.make("ToolMaster/Shelf-v0")
    obs, info = env.reset(seed=0)
    assert info["domain"] == "shelf" and "count_books(author: str)" in obs
    assert run_episode(env, GoldenPlanPolicy(env), seed=0)["success"]
    _, info = gym.make("ToolMaster/Shelf-Drift-v0", stale_docs=True).reset(seed=1)
    assert info["mutations"] and info["stale_docs"]
    # it joins no suite id, but any env takes it by name
    assert "shelf" not in gym.spec("ToolMaster/Unseen-v0").kwargs["domains"]
    mixed = gym.make("ToolMaster/Seen-v0", domains=["shelf", "weather"])
    assert {mixed.reset(seed=s)[1]["domain"] for s in range(12)} == {"shelf", "weather"}
    tool_gym.unregister_domain("shelf")
    assert "ToolMaster/Shelf-v0" not in gym.registry and "shelf" not in domains()


def test_tool_env_takes_domain_objects_without_registration():
    env = ToolEnv(domains=[shelf(), "weather"], split="all")
    assert {env.reset(seed=s)[1]["domain"] for s in range(12)} == {"shelf", "weather"}
    _, info = env.reset(seed=0, options={"domain": "shelf", "task_seed": 3})
    assert info["task_id"] == "shelf-3"
    assert "shelf" not in domains()


class Unforkable(World):
    def fork(self) -> World:
        raise TypeError("cannot pickle '_thread.lock' object")


def _raises(rng, world, seed):
    raise RuntimeError("no tasks today")


def _wrong_answer(rng, world, seed):
    task = _task(rng, world, seed)
    task.answer = "no idea"
    return task


def _schema_broken():
    spec = count_books.replace(name="count_books")
    spec.parameters["properties"]["author"] = {"type": "text"}
    return spec


@pytest.mark.parametrize("changes,problem", [
    ({"name": "weather", "title": "Weather2"}, "taken by a built-in domain; choose another name"),
    ({"title": "Weather"}, "clashes with domain 'weather'"),
    ({"title": "Unseen"}, "clash with ToolMaster/Unseen-v0, a suite id"),
    ({"name": "Shelf"}, "name must be lower case"),
    ({"tools": [count_books, count_books]}, r"two tools are named \['count_books'\]"),
    ({"tools": [count_books.replace(description="")]}, "no description; write a docstring"),
    ({"tools": [count_books.replace(parameters={"type": "object", "properties": {
        "author": {"description": "who"}}})]}, "parameter 'author' has no type; annotate it"),
    ({"tools": [_schema_broken()]}, "not a valid JSON Schema"),
    ({"make_task": _raises}, "make_world/make_task raised RuntimeError for task seed 0"),
    ({"make_task": _wrong_answer}, "fails the task's own checker"),
    ({"make_world": lambda rng: Unforkable(), "make_task": lambda rng, w, s: Task(
        "", "", "q", [], "a", answer_is("a"))}, "cannot fork"),
    ({"hints": {"count_books.city": "enum"}}, "hint 'count_books.city' names no"),
])
def test_registration_refuses_a_broken_domain_naming_problem_and_fix(changes, problem):
    with pytest.raises(DomainError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        tool_gym.register_domain(shelf(**changes))
    assert "shelf" not in domains() and "ToolMaster/Shelf-v0" not in gym.registry


def test_registering_twice_needs_replace_and_built_ins_stay(registered):
    registered(shelf())
    with pytest.raises(DomainError, match="already registered; choose another name, pass "
                                          "replace=True"):
        tool_gym.register_domain(shelf())
    newer = shelf(description="A newer shelf.")
    registered(newer, replace=True)
    assert domains()["shelf"] is newer
    with pytest.raises(DomainError, match="built-in domain"):
        tool_gym.unregister_domain("weather")
    with pytest.raises(DomainError, match="no registered domain 'nope'"):
        tool_gym.unregister_domain("nope")


SUITE_IDS = ["ToolMaster/Seen-v0", "ToolMaster/Unseen-v0", "ToolMaster/Drift-v0",
             "ToolMaster/Unseen-Drift-v0"]


def test_suite_ids_name_their_domains_and_a_new_unseen_domain_changes_no_draw(registered):
    for env_id in SUITE_IDS:
        suite = "Seen-v0" if env_id in SUITE_IDS[::2] else "Unseen-v0"
        assert gym.spec(env_id).kwargs["domains"] == suite_domains(suite)
    env = gym.make("ToolMaster/Unseen-v0")
    before = [env.reset(seed=s)[0] for s in range(100)]
    registered(shelf())  # a new unseen domain
    registered(shelf(name="shelf_two", title="ShelfTwo"))
    env = gym.make("ToolMaster/Unseen-v0")
    assert [env.reset(seed=s)[0] for s in range(100)] == before
    assert ToolEnv().domains == [built_in_domains()[n] for n in suite_domains("Seen-v0")]


# What each suite id draws for seeds 0..99 (task ids), pinned: a change needs a new version.
DRAWS = {
    "ToolMaster/Seen-v0": "724e1496f2f8abcc",
    "ToolMaster/Unseen-v0": "070778c0dfa97ece",
    "ToolMaster/Drift-v0": "724e1496f2f8abcc",
    "ToolMaster/Unseen-Drift-v0": "070778c0dfa97ece",
}


def _draws(env_id: str) -> str:
    env = gym.make(env_id)
    ids = [env.reset(seed=s)[1]["task_id"] for s in range(100)]
    return hashlib.sha256(" ".join(ids).encode()).hexdigest()[:16]


@pytest.mark.parametrize("env_id", SUITE_IDS)
def test_suite_ids_draw_the_tasks_they_drew_at_v0(env_id):
    assert _draws(env_id) == DRAWS[env_id], f"{env_id} draws other tasks: bump its version"


def test_a_domains_own_words_rename_its_tools_and_no_other_domains():
    weather = built_in_domains()["weather"]
    spec = [{"kind": "rename_tool", "style": "synonym", "tools": "all"}]

    def renames(domain):
        return [apply_mutations(domain, spec, seed=s).applied for s in range(30)]

    before = renames(weather)
    mine = shelf(synonyms={"books": ["volumes"], "forecast": ["nonsense"]})
    ToolEnv(domains=[mine])  # a domain in use, registered or not, changes no other domain
    tool_gym.register_domain(mine)
    try:
        assert renames(weather) == before
        names = {n for a in renames(mine) for n in a[0]["names"].values()}
        assert any("volumes" in n for n in names), names
    finally:
        tool_gym.unregister_domain("shelf")


PACKAGE = '''
from tool_gym import domain_from_functions

PRICES = {"apple": 0.5, "bread": 2.25, "cheese": 7.5}


def price(item: str) -> float:
    """Unit price of an item in euros.

    Args:
        item: The item, e.g. "apple".
    """
    if item not in PRICES:
        raise KeyError(f"no item '{item}'; items: {', '.join(PRICES)}")
    return PRICES[item]


def buy(state: dict, item: str, quantity: int = 1) -> dict:
    """Put items in the basket.

    Args:
        item: The item.
        quantity: How many.
    """
    state[item] = state.get(item, 0) + quantity
    return {"basket": dict(state)}


def _task(rng, basket):
    item = ["apple", "bread", "cheese"][int(rng.integers(3))]
    n = int(rng.integers(1, 4))
    return {"query": f"Buy {n} {item} and tell me the unit price.", "answer": PRICES[item],
            "check": lambda answer, basket: basket.get(item) == n and str(PRICES[item]) in answer,
            "plan": [("buy", {"item": item, "quantity": n}), ("price", {"item": item})]}


DOMAIN = domain_from_functions([price, buy], _task, name="grocer", state={},
                               synonyms={"price": ["cost"]})
'''


def test_a_pip_installed_package_gets_its_ids_after_import_tool_gym_alone(tmp_path):
    """A separate package with its own pyproject and entry points, installed with pip into a
    folder a fresh interpreter has on its path: ``import tool_gym`` registers its domain,
    which passes check_domain; its broken entry point is logged and skipped."""
    src = tmp_path / "grocer_pkg"
    (src / "grocer").mkdir(parents=True)
    (src / "grocer" / "__init__.py").write_text(textwrap.dedent(PACKAGE))
    (src / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "grocer-tools"
        version = "0.1"

        [project.entry-points."tool_gym.domains"]
        grocer = "grocer:DOMAIN"
        broken = "grocer_missing_module:DOMAIN"
    '''))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
                    "--no-index", "--quiet", "--target", str(site), str(src)], check=True,
                   capture_output=True, cwd=tmp_path)
    code = textwrap.dedent('''
        import gymnasium as gym, tool_gym
        from tool_gym.registration import get_domain
        env = gym.make("ToolMaster/Grocer-v0")
        obs, info = env.reset(seed=0)
        report = tool_gym.check_domain(get_domain("grocer"), episodes=40, fuzz=300)
        print(info["domain"], "ToolMaster/Grocer-Drift-v0" in gym.registry, report.ok)
        print(report)
    ''')
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "grocer True True", out.stdout
    assert "entry point 'broken = grocer_missing_module:DOMAIN'" in out.stderr, out.stderr
    assert "ModuleNotFoundError" in out.stderr
    # the CLI checks it too, by module:ATTR, and says so in its exit status
    cli = subprocess.run([sys.executable, "-m", "tool_gym.cli", "check", "grocer:DOMAIN",
                          "--episodes", "10", "--fuzz", "100", "--only", "golden",
                          "--only", "trials"], capture_output=True, text=True,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert cli.returncode == 0 and "passes the contract" in cli.stdout, cli.stdout + cli.stderr
