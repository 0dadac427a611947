"""Domains from typed functions and from OpenAI tool specs: one call, then a normal env."""

from __future__ import annotations

from typing import Literal

import gymnasium as gym
import numpy as np
import pytest

import tool_gym
from tool_gym import DomainError, Ref, domain_from_functions, domain_from_openai
from tool_gym.explorer import ScriptedExplorer
from tool_gym.oracle import GoldenPlanPolicy, run_episode

STOCK = {"apple": 3, "pear": 0, "plum": 12}


def stock(item: str) -> int:
    """How many of an item are in stock.

    Args:
        item: The item, e.g. "apple".
    """
    if item not in STOCK:
        raise KeyError(f"no item '{item}'; items: {', '.join(STOCK)}")
    return STOCK[item]


def order(state: dict, item: str, quantity: int = 1,
          speed: Literal["standard", "express"] = "standard") -> dict:
    """Order an item for the basket.

    Args:
        item: The item to order.
        quantity: How many.
        speed: Delivery speed.
    """
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    state["orders"].append({"item": item, "quantity": quantity, "speed": speed})
    return {"order_id": len(state["orders"]), "item": item}


def orders(state: dict, item: str | None = None) -> list:
    """The orders placed so far.

    Args:
        item: Only orders of this item.
    """
    return [o for o in state["orders"] if item is None or o["item"] == item]


TASKS = [
    {"query": "How many apples are in stock?", "answer": 3,
     "plan": [("stock", {"item": "apple"})]},
    {"query": "Order 2 plums by express and give me the order id.",
     "check": lambda answer, state: {"item": "plum", "quantity": 2, "speed": "express"}
     in state["orders"] and "1" in answer,
     "plan": [("order", {"item": "plum", "quantity": 2, "speed": "express"})],
     "golden_answer": Ref(0, "order_id")},
    {"query": "Order one of whatever item has the most stock.",
     "check": lambda answer, state: [o["item"] for o in state["orders"]] == ["plum"],
     "plan": [("stock", {"item": "plum"}), ("order", {"item": "plum"})], "golden_answer": "done"},
    {"query": "Have I ordered pears?", "answer": "no"},  # no golden plan: plays, not checked
]


def shop(**kwargs):
    kwargs.setdefault("name", "shop")
    kwargs.setdefault("state", {"orders": []})
    return domain_from_functions([stock, order, orders], TASKS, **kwargs)


def test_functions_become_tools_with_schemas_docs_and_side_effects():
    domain = shop(read_only=["orders"], synonyms={"stock": ["inventory"]})
    by_name = domain.tool_map
    assert by_name["order"].signature() == (
        "order(item: str, quantity?: int, speed?: standard|express) - Order an item for the "
        "basket.")
    assert by_name["order"].parameters["properties"]["item"]["description"] == "The item to order."
    assert by_name["orders"].parameters["properties"]["item"]["type"] == ["string", "null"]
    assert [by_name[n].side_effects for n in ("stock", "order", "orders")] == [False, True, False]
    assert domain.title == "Shop" and domain.synonyms == {"stock": ["inventory"]}


def test_imported_functions_pass_the_contract_and_play_through_gym_make():
    domain = shop()
    report = tool_gym.check_domain(domain, episodes=60, fuzz=600)
    assert report.ok, str(report)
    assert report["golden"].data["skipped"] > 0  # the task without a plan is counted, not run
    ids = tool_gym.register_domain(domain)
    try:
        env = gym.make(ids[0], split="all")
        obs, info = env.reset(options={"task_seed": 0})
        assert "stock(item: str)" in obs
        obs, *_ = env.step('<call>{"name": "stock", "arguments": {"item": "kiwi"}}</call>')
        assert "no item 'kiwi'; items: apple, pear, plum" in obs  # a KeyError, as the agent sees it
        _, reward, term, _, info = env.step("<answer>3</answer>")
        assert term and info["success"] and reward > 0.9
        env.reset(options={"task_seed": 3})  # no golden plan: still plays and scores
        *_, info = env.step("<answer>no</answer>")
        assert info["success"]
        # drift and stale docs apply: renamed tools, old docs, the explorer still finds them
        drift = gym.make(ids[1], split="all", stale_docs=True,
                         mutations=[{"kind": "rename_tool", "tools": "all", "style": "synonym"},
                                    {"kind": "rename_params", "tools": "all"}])
        for seed in (1, 2):
            assert run_episode(drift, GoldenPlanPolicy(drift), options={"task_seed": seed})[
                "success"]
            result = run_episode(drift, ScriptedExplorer(), options={"task_seed": seed})
            assert result["success"], result["actions"]
    finally:
        tool_gym.unregister_domain("shop")


def test_trials_of_state_tools_never_change_the_state():
    env = gym.make("ToolMaster/Seen-v0", domains=[shop()], split="all")
    env.reset(options={"task_seed": 1})
    state = env.unwrapped.episode.world.state
    env.step('<trial>{"name": "order", "arguments": {"item": "plum", "quantity": 5}}</trial>')
    assert state == {"orders": []}
    env.step('<call>{"name": "order", "arguments": {"item": "plum", "quantity": 5}}</call>')
    assert state["orders"] == [{"item": "plum", "quantity": 5, "speed": "standard"}]


def test_a_task_generator_gives_many_tasks():
    def many(rng: np.random.Generator, state: dict) -> dict:
        item = ["apple", "pear", "plum"][int(rng.integers(3))]
        return {"query": f"How many {item}s are in stock?", "answer": STOCK[item],
                "plan": [("stock", {"item": item})]}

    domain = domain_from_functions([stock], many, name="stockroom")
    assert {domain.generate(s)[1].query for s in range(30)} == {
        f"How many {i}s are in stock?" for i in STOCK}
    assert tool_gym.check_domain(domain, ["golden", "trials"], episodes=30).ok


def untyped(item) -> int:
    """Count an item.

    Args:
        item: The item.
    """
    return 0


def undocumented(item: str) -> int:
    return 0


@pytest.mark.parametrize("call,problem", [
    (lambda: domain_from_functions([untyped], TASKS[:1], name="x"),
     "tool 'untyped': untyped.item: missing type annotation; annotate every parameter"),
    (lambda: domain_from_functions([undocumented], TASKS[:1], name="x"),
     "tool 'undocumented' has no description; give its function a docstring"),
    (lambda: domain_from_functions([lambda item: 0], TASKS[:1], name="x"),
     "no usable name"),
    (lambda: domain_from_functions([stock, order], TASKS[:1], name="x"),
     r"tools \['order'\] take a 'state' but no state= was given"),
    (lambda: domain_from_functions([stock], [{"query": "q", "answer": 1,
                                              "plan": [("sell", {})]}], name="x"),
     "its plan calls 'sell', which is not a tool"),
    (lambda: domain_from_functions([stock], [{"answer": 1}], name="x"), "needs a 'query'"),
    (lambda: domain_from_functions([stock], [{"query": "q"}], name="x"),
     "needs 'answer' .* or 'check'"),
    (lambda: domain_from_functions([stock], [], name="x"), "has no tasks"),
    (lambda: domain_from_functions([stock], [{"query": "q", "answer": 4,
                                              "plan": [("stock", {"item": "apple"})]}],
                                   name="x"), "fails the task's own checker"),
    (lambda: domain_from_functions([stock], [{"query": "q", "answer": 4,
                                              "plan": [("stock", {"item": "kiwi"})]}],
                                   name="x"), "the tool answered an error on the task's own world"),
])
def test_importing_broken_functions_or_tasks_names_problem_and_fix(call, problem):
    with pytest.raises(DomainError, match=problem):
        call()


OPENAI_TOOLS = [
    {"type": "function", "function": {
        "name": "stock", "description": "How many of an item are in stock.",
        "parameters": {"type": "object", "properties": {
            "item": {"type": "string", "description": "The item, e.g. \"apple\"."}},
            "required": ["item"]}}},
    {"type": "function", "function": {
        "name": "order", "description": "Order an item for the basket.",
        "parameters": {"type": "object", "properties": {
            "item": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1},
            "speed": {"type": "string", "enum": ["standard", "express"]}},
            "required": ["item"], "additionalProperties": False}}},
    {"name": "orders", "description": "The orders placed so far.",  # without the wrapper
     "parameters": {"type": "object", "properties": {"item": {"type": ["string", "null"]}}}},
]


def test_openai_specs_and_callables_pass_the_contract():
    domain = domain_from_openai(OPENAI_TOOLS, [stock, order, orders], TASKS, name="oa_shop",
                                state={"orders": []})
    assert [t.to_openai()["function"]["name"] for t in domain.tools] == ["stock", "order",
                                                                        "orders"]
    assert domain.tool_map["order"].parameters["properties"]["quantity"]["minimum"] == 1
    report = tool_gym.check_domain(domain, episodes=60, fuzz=600)
    assert report.ok, str(report)


def test_the_specs_of_imported_functions_round_trip_through_openai():
    functions = shop()
    specs = [t.to_openai() for t in functions.tools]
    again = domain_from_openai(specs, {"stock": stock, "order": order, "orders": orders},
                               TASKS, name="again", state={"orders": []})
    assert [t.to_openai() for t in again.tools] == specs


@pytest.mark.parametrize("tools,functions,problem", [
    (OPENAI_TOOLS[:1], {}, "no function for tool 'stock'; pass one in functions="),
    (OPENAI_TOOLS[:1], [stock, orders], r"functions \['orders'\] have no spec in tools="),
    ([{"type": "function", "function": {"name": "stock", "description": "d", "parameters": {
        "type": "object", "properties": {"item": {"type": "text"}}}}}], [stock],
     "its parameters are not a valid JSON Schema"),
    ([{"type": "function", "function": {"name": "stock", "description": "d", "parameters": {
        "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}}}],
     [stock], r"does not take the spec's parameters \['name'\]"),
    ([{"function": "stock"}], [stock], r"tools\[0\] is not an OpenAI tool"),
])
def test_openai_import_refuses_mismatches_naming_the_fix(tools, functions, problem):
    with pytest.raises(DomainError, match=problem):
        domain_from_openai(tools, functions, TASKS[:1], name="bad", state={"orders": []})


def test_a_function_that_crashes_on_some_input_fails_the_contract_naming_it(caplog):
    def length(text: str) -> int:
        """Length of a text.

        Args:
            text: Any text.
        """
        if text == "a":  # a bug: an AttributeError is no message for the agent
            raise AttributeError("'NoneType' object has no attribute 'strip'")
        return len(text)

    domain = domain_from_functions([length], [{"query": "How long is 'abc'?", "answer": 3,
                                               "plan": [("length", {"text": "abc"})]}],
                                   name="lengths")
    report = tool_gym.check_domain(domain, ["golden", "trials"], episodes=10)
    assert report["golden"].ok and not report["trials"].ok
    assert "caught 1 exception(s) of the domain's own during trials" in report["trials"].detail
