"""Recipes: search a seeded recipe collection, read and scale recipes, compute nutrition,
and build a shopping list (the world's mutable state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tool_gym import (
    Domain,
    Ref,
    Step,
    Task,
    ToolError,
    World,
    all_of,
    answer_is,
    lookup_id,
    tool,
    world_has,
)

# name -> (unit, kcal, protein g, fat g, carbs g per unit, per-serving amount range)
ING: dict[str, tuple[str, float, float, float, float, tuple[float, float]]] = {
    "chicken breast": ("g", 1.65, 0.31, 0.036, 0.0, (120, 200)),
    "beef mince": ("g", 2.5, 0.26, 0.17, 0.0, (100, 160)),
    "salmon fillet": ("g", 2.08, 0.2, 0.13, 0.0, (110, 170)),
    "tofu": ("g", 0.76, 0.08, 0.048, 0.019, (100, 180)),
    "chickpeas": ("g", 1.64, 0.089, 0.026, 0.27, (80, 150)),
    "prawns": ("g", 0.99, 0.24, 0.003, 0.002, (90, 150)),
    "mushrooms": ("g", 0.22, 0.031, 0.003, 0.033, (80, 150)),
    "lentils": ("g", 3.53, 0.25, 0.011, 0.6, (50, 90)),
    "broccoli": ("g", 0.34, 0.028, 0.004, 0.07, (60, 120)),
    "spinach": ("g", 0.23, 0.029, 0.004, 0.036, (30, 80)),
    "eggs": ("piece", 72.0, 6.3, 4.8, 0.4, (1, 2.5)),
    "rice": ("g", 3.6, 0.07, 0.006, 0.79, (60, 100)),
    "pasta": ("g", 3.71, 0.13, 0.015, 0.75, (80, 120)),
    "potatoes": ("g", 0.77, 0.02, 0.001, 0.17, (150, 250)),
    "corn tortillas": ("piece", 52.0, 1.4, 0.7, 11.0, (2, 3)),
    "bread": ("slice", 80.0, 3.0, 1.0, 15.0, (1, 2)),
    "onion": ("piece", 44.0, 1.2, 0.1, 10.0, (0.3, 0.6)),
    "garlic": ("clove", 4.5, 0.2, 0.0, 1.0, (0.5, 1.5)),
    "ginger": ("g", 0.8, 0.018, 0.0075, 0.18, (3, 8)),
    "canned tomatoes": ("g", 0.32, 0.016, 0.003, 0.07, (80, 150)),
    "tomatoes": ("piece", 22.0, 1.1, 0.2, 4.8, (0.5, 1)),
    "bell pepper": ("piece", 31.0, 1.0, 0.3, 6.0, (0.3, 0.7)),
    "carrots": ("piece", 25.0, 0.6, 0.1, 6.0, (0.5, 1)),
    "lime": ("piece", 20.0, 0.5, 0.1, 7.0, (0.2, 0.5)),
    "coconut milk": ("ml", 1.97, 0.02, 0.21, 0.03, (80, 120)),
    "olive oil": ("tbsp", 119.0, 0.0, 13.5, 0.0, (0.5, 1)),
    "butter": ("g", 7.17, 0.009, 0.81, 0.001, (10, 25)),
    "parmesan": ("g", 4.31, 0.38, 0.29, 0.041, (10, 25)),
    "cheddar": ("g", 4.02, 0.25, 0.33, 0.013, (20, 40)),
    "milk": ("ml", 0.64, 0.034, 0.036, 0.048, (50, 150)),
    "cream": ("ml", 3.4, 0.021, 0.36, 0.028, (30, 60)),
    "soy sauce": ("tbsp", 8.5, 1.3, 0.0, 0.8, (0.5, 1)),
    "curry paste": ("tbsp", 30.0, 0.5, 1.5, 3.5, (0.5, 1)),
    "black beans": ("g", 1.32, 0.089, 0.005, 0.24, (60, 120)),
    "avocado": ("piece", 240.0, 3.0, 22.0, 12.8, (0.3, 0.5)),
    "basil": ("g", 0.23, 0.032, 0.006, 0.026, (2, 6)),
}
# dish, cuisine, main ingredients (one per recipe), other ingredients, minutes range
DISHES = [
    ("Curry", "indian", ["chicken breast", "chickpeas", "lentils", "tofu", "prawns"],
     ["onion", "garlic", "ginger", "canned tomatoes", "rice", "spinach"]),
    ("Thai Curry", "thai", ["chicken breast", "tofu", "prawns"],
     ["coconut milk", "curry paste", "bell pepper", "rice", "lime"]),
    ("Pasta", "italian", ["beef mince", "mushrooms", "salmon fillet", "prawns"],
     ["pasta", "garlic", "canned tomatoes", "olive oil", "parmesan", "basil"]),
    ("Risotto", "italian", ["mushrooms", "chicken breast", "prawns"],
     ["rice", "onion", "butter", "parmesan", "olive oil"]),
    ("Tacos", "mexican", ["chicken breast", "beef mince", "black beans", "prawns"],
     ["corn tortillas", "onion", "tomatoes", "bell pepper", "lime", "avocado"]),
    ("Stir-Fry", "chinese", ["chicken breast", "tofu", "beef mince", "prawns"],
     ["rice", "broccoli", "carrots", "soy sauce", "garlic", "ginger"]),
    ("Rice Bowl", "japanese", ["salmon fillet", "tofu", "chicken breast"],
     ["rice", "soy sauce", "carrots", "spinach", "ginger"]),
    ("Omelette", "french", ["mushrooms", "spinach", "salmon fillet"],
     ["eggs", "butter", "cheddar", "milk"]),
    ("Gratin", "french", ["chicken breast", "mushrooms", "broccoli"],
     ["potatoes", "cream", "cheddar", "butter", "garlic"]),
    ("Soup", "mediterranean", ["lentils", "chickpeas", "mushrooms"],
     ["onion", "carrots", "garlic", "canned tomatoes", "olive oil", "bread"]),
    ("Burger", "american", ["beef mince", "chickpeas", "mushrooms"],
     ["bread", "cheddar", "onion", "tomatoes", "potatoes"]),
    ("Salad", "mediterranean", ["chickpeas", "salmon fillet", "chicken breast"],
     ["spinach", "bell pepper", "olive oil", "lime", "avocado"]),
]
LABEL = {"chicken breast": "Chicken", "beef mince": "Beef", "salmon fillet": "Salmon",
         "tofu": "Tofu", "chickpeas": "Chickpea", "prawns": "Prawn", "mushrooms": "Mushroom",
         "lentils": "Lentil", "spinach": "Spinach", "broccoli": "Broccoli",
         "black beans": "Black Bean"}
ADJECTIVES = ["Smoky", "Spicy", "Creamy", "Zesty", "Rustic", "Golden", "Herby", "Garlicky",
              "Sunday", "Quick", "Classic", "Crispy", "Hearty", "Midweek"]
COMBOS = [(d, m, a) for d in range(len(DISHES)) for m in range(len(DISHES[d][2]))
          for a in range(len(ADJECTIVES))]
NAMES = [f"{ADJECTIVES[a]} {LABEL[DISHES[d][2][m]]} {DISHES[d][0]}".lower() for d, m, a in COMBOS]
# Ingredients a search finds exactly in the recipes that use them (no name or ingredient
# contains them by accident, as "milk" in "coconut milk").
SEARCHABLE = {g for g in ING if not any(g in o for o in ING if o != g)
              and not any(g in n for n in NAMES)}
CUISINE = Literal["any", "american", "chinese", "french", "indian", "italian", "japanese",
                  "mediterranean", "mexican", "thai"]
N_RECIPES = 24
MAX_SERVINGS = 50
MAX_RESULTS = 8


@dataclass
class RecipesWorld(World):
    recipes: dict[str, dict] = field(default_factory=dict)  # recipe id -> recipe
    shopping: dict[str, dict] = field(default_factory=dict)  # ingredient -> {quantity, unit}


def _q(x: float, unit: str) -> float:
    """Quantities: whole grams and millilitres, other units to two decimals."""
    return float(round(x, 1 if unit in ("g", "ml") else 2))


def make_world(rng: np.random.Generator) -> RecipesWorld:
    w = RecipesWorld()
    picks = rng.permutation(len(COMBOS))[:N_RECIPES].tolist()
    ids = (rng.permutation(900)[:N_RECIPES] + 100).tolist()
    minutes = (rng.permutation(85)[:N_RECIPES] + 10).tolist()  # distinct cooking times
    servings = rng.integers(1, 4, N_RECIPES).tolist()
    u = rng.random((N_RECIPES, 7)).tolist()
    for r, c in enumerate(picks):
        d, m, a = COMBOS[c]
        dish, cuisine, mains, extras = DISHES[d]
        serves = 2 * servings[r]
        items = []
        for k, name in enumerate([mains[m], *extras]):
            unit, *_, (lo, hi) = ING[name]
            per = lo + (hi - lo) * u[r][k]
            qty = round(per * serves) if unit in ("g", "ml") else max(1, round(per * serves))
            items.append({"name": name, "quantity": float(qty), "unit": unit})
        rid = f"R{ids[r]}"
        w.recipes[rid] = {"recipe_id": rid, "name": f"{ADJECTIVES[a]} {LABEL[mains[m]]} {dish}",
                          "cuisine": cuisine, "minutes": minutes[r], "servings": serves,
                          "ingredients": items}
    for k in rng.permutation(len(ING))[: 2 + int(rng.integers(3))].tolist():
        name = list(ING)[k]
        unit, *_, (lo, hi) = ING[name]
        w.shopping[name] = {"quantity": _q(hi * float(rng.integers(1, 4)), unit), "unit": unit}
    return w


def _recipe(world: RecipesWorld, recipe_id: str) -> dict:
    return lookup_id(world.recipes, recipe_id,
                     "no recipe '{id}'; use a recipe_id from search_recipes, "
                     "e.g. R123")


def _servings(servings: int) -> int:
    try:
        v = float(servings)
    except (OverflowError, TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v == int(v) and 1 <= v <= MAX_SERVINGS):
        raise ToolError(f"servings must be a whole number from 1 to {MAX_SERVINGS}, got "
                        f"{servings!r:.40}")
    return int(v)


def _scaled(recipe: dict, servings: int) -> list[dict]:
    f = servings / recipe["servings"]
    return [{"name": i["name"], "quantity": _q(i["quantity"] * f, i["unit"]), "unit": i["unit"]}
            for i in recipe["ingredients"]]


def _nutrition(recipe: dict, servings: int) -> dict:
    totals = [0.0, 0.0, 0.0, 0.0]
    for i in recipe["ingredients"]:
        per_unit = ING[i["name"]][1:5]
        for k in range(4):
            totals[k] += i["quantity"] * per_unit[k]
    f = servings / recipe["servings"]
    return {"recipe_id": recipe["recipe_id"], "name": recipe["name"], "servings": servings,
            "calories": round(totals[0] * f, 1), "protein_g": round(totals[1] * f, 1),
            "fat_g": round(totals[2] * f, 1), "carbs_g": round(totals[3] * f, 1)}


def _search(world: RecipesWorld, query: str, cuisine: str, max_minutes: int,
            sort_by: str) -> list[dict]:
    q = " ".join(query.lower().split())
    hits = []
    for r in world.recipes.values():
        if cuisine != "any" and r["cuisine"] != cuisine:
            continue
        if max_minutes and r["minutes"] > max_minutes:
            continue
        in_name = q in r["name"].lower()
        if q and not in_name and not any(q in i["name"] for i in r["ingredients"]):
            continue
        hits.append((not in_name, r))
    if sort_by == "minutes":
        hits.sort(key=lambda h: h[1]["minutes"])
    else:
        hits.sort(key=lambda h: (h[0], h[1]["name"]))
    return [{k: r[k] for k in ("recipe_id", "name", "cuisine", "minutes", "servings")}
            for _, r in hits]


@tool
def search_recipes(world: RecipesWorld, query: str = "", cuisine: CUISINE = "any",
                   max_minutes: int = 0,
                   sort_by: Literal["relevance", "minutes"] = "relevance") -> dict:
    """Find recipes by words in their name or an ingredient, cuisine and cooking time.

    Args:
        query: Words to look for in the recipe name or its ingredients, e.g. chickpea; empty
            for all recipes.
        cuisine: Cuisine to keep, or any.
        max_minutes: Longest cooking time in minutes to keep; 0 for no limit.
        sort_by: relevance (name matches first, then by name) or minutes (quickest first).
    """
    try:
        limit = float(max_minutes)
    except (OverflowError, TypeError, ValueError):
        limit = math.nan
    if not (math.isfinite(limit) and 0 <= limit <= 100000):
        raise ToolError(f"max_minutes must be 0 (no limit) or a positive number of minutes, got "
                        f"{max_minutes!r:.40}")
    hits = _search(world, query, cuisine, int(limit), sort_by)
    out: dict = {"count": len(hits), "results": hits[:MAX_RESULTS]}
    if len(hits) > MAX_RESULTS:
        out["note"] = f"showing {MAX_RESULTS} of {len(hits)}; narrow the query or cuisine"
    if not hits:
        out["note"] = "no recipes match; try a shorter query, cuisine 'any' or no time limit"
    return out


@tool
def get_recipe(world: RecipesWorld, recipe_id: str) -> dict:
    """A recipe's cuisine, cooking time, servings and ingredient quantities.

    Args:
        recipe_id: Recipe id from search_recipes, e.g. R123.
    """
    r = _recipe(world, recipe_id)
    return {**r, "ingredients": [dict(i) for i in r["ingredients"]]}


@tool
def scale_recipe(world: RecipesWorld, recipe_id: str, servings: int) -> dict:
    """Ingredient quantities of a recipe rescaled to a number of servings.

    Args:
        recipe_id: Recipe id from search_recipes, e.g. R123.
        servings: Number of servings to cook (1 to 50).
    """
    r = _recipe(world, recipe_id)
    n = _servings(servings)
    return {"recipe_id": r["recipe_id"], "name": r["name"], "servings": n,
            "ingredients": _scaled(r, n)}


@tool
def get_nutrition(world: RecipesWorld, recipe_id: str, servings: int = 1) -> dict:
    """Calories and grams of protein, fat and carbohydrate in some servings of a recipe.

    Args:
        recipe_id: Recipe id from search_recipes, e.g. R123.
        servings: Number of servings the totals are for (1 to 50).
    """
    return _nutrition(_recipe(world, recipe_id), _servings(servings))


def _add(shopping: dict[str, dict], items: list[dict]) -> None:
    for i in items:
        have = shopping.get(i["name"])
        qty = i["quantity"] + (have["quantity"] if have else 0.0)
        shopping[i["name"]] = {"quantity": round(qty, 2), "unit": i["unit"]}


@tool(side_effects=True)
def add_to_shopping_list(world: RecipesWorld, recipe_id: str, servings: int) -> dict:
    """Add a recipe's ingredients, scaled to some servings, to the shopping list (quantities of
    items already on the list are increased).

    Args:
        recipe_id: Recipe id from search_recipes, e.g. R123.
        servings: Number of servings to shop for (1 to 50).
    """
    r = _recipe(world, recipe_id)
    items = _scaled(r, _servings(servings))
    _add(world.shopping, items)
    return {"status": "added", "recipe": r["name"], "added_items": len(items),
            "total_items": len(world.shopping)}


@tool
def get_shopping_list(world: RecipesWorld) -> dict:
    """Everything on the shopping list: item name -> [quantity, unit]."""
    return {"items": {k: [v["quantity"], v["unit"]] for k, v in world.shopping.items()},
            "total_items": len(world.shopping)}


TOOLS = [search_recipes, get_recipe, scale_recipe, get_nutrition, add_to_shopping_list,
         get_shopping_list]

NUTRIENT = {"calories": "calories", "protein_g": "grams of protein", "fat_g": "grams of fat",
            "carbs_g": "grams of carbohydrate"}


def _people(n: int) -> str:
    return "1 serving" if n == 1 else f"{n} servings"


def make_task(rng: np.random.Generator, world: RecipesWorld, seed: int) -> Task:
    kind = int(rng.integers(6))
    rid = sorted(world.recipes)[int(rng.integers(N_RECIPES))]
    recipe = world.recipes[rid]
    name = recipe["name"]
    find = Step("search_recipes", {"query": name})
    n = int(rng.integers(1, 9))
    if kind in (3, 4, 5):
        if rng.random() < 0.5:
            cuisines = sorted({r["cuisine"] for r in world.recipes.values()})
            cuisine = cuisines[int(rng.integers(len(cuisines)))]
            args: dict = {"cuisine": cuisine, "sort_by": "minutes"}
            label = f"{cuisine} recipe"
        else:
            used = sorted({i["name"] for r in world.recipes.values() for i in r["ingredients"]
                           if i["name"] in SEARCHABLE})
            ing = used[int(rng.integers(len(used)))]
            args = {"query": ing, "sort_by": "minutes"}
            label = f"recipe that uses {ing}"
        recipe = world.recipes[_search(world, args.get("query", ""), args.get("cuisine", "any"),
                                       0, "minutes")[0]["recipe_id"]]
        rid, name = recipe["recipe_id"], recipe["name"]
        find = Step("search_recipes", args)
        if kind == 3:
            return Task("", "recipes", f"Which {label} takes the least time to cook? Answer with "
                        "the recipe name.", [find], Ref(0, "results.0.name"), answer_is(name))
        which = f"the quickest {label}"
    else:
        which = f"the recipe '{name}'"
    ref = Ref(0, "results.0.recipe_id")
    if kind in (0, 4):
        key = "calories" if kind == 4 or rng.random() < 0.4 else list(NUTRIENT)[
            1 + int(rng.integers(3))]
        n = 1 if rng.random() < 0.4 else n
        value = _nutrition(recipe, n)[key]
        if value < 1:
            key, value = "calories", _nutrition(recipe, n)["calories"]
        return Task("", "recipes", f"How many {NUTRIENT[key]} are in {_people(n)} of {which}?",
                    [find, Step("get_nutrition", {"recipe_id": ref, "servings": n})],
                    Ref(1, key), answer_is(value))
    if kind == 1:
        items = _scaled(recipe, n)
        weighed = [i for i, it in enumerate(items) if it["unit"] in ("g", "ml")]
        k = weighed[int(rng.integers(len(weighed)))]
        item = items[k]
        unit = {"g": "grams", "ml": "millilitres"}[item["unit"]]
        return Task("", "recipes", f"How many {unit} of {item['name']} do I need to make "
                    f"{which} for {_people(n)}?",
                    [find, Step("scale_recipe", {"recipe_id": ref, "servings": n})],
                    Ref(1, f"ingredients.{k}.quantity"), answer_is(item["quantity"]))
    expected: dict[str, dict] = {k: dict(v) for k, v in world.shopping.items()}
    _add(expected, _scaled(recipe, n))
    total = len(expected)

    def shopped(w: RecipesWorld) -> bool:
        return all(k in w.shopping and abs(w.shopping[k]["quantity"] - v["quantity"]) <= 0.05
                   for k, v in expected.items())

    return Task("", "recipes", f"Add the ingredients for {_people(n)} of {which} to my shopping "
                "list, then tell me how many different items are on the list.",
                [find, Step("add_to_shopping_list", {"recipe_id": ref, "servings": n})],
                Ref(1, "total_items"), all_of(world_has(shopped), answer_is(total)))


DOMAIN = Domain(
    name="recipes",
    title="Recipes",
    description="Recipe search, scaling, nutrition and a shopping list.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="unseen",
    hints={"search_recipes.cuisine": "enum", "search_recipes.max_minutes": "unit:min",
           "search_recipes.sort_by": "enum", "get_recipe.recipe_id": "id",
           "scale_recipe.recipe_id": "id", "get_nutrition.recipe_id": "id",
           "add_to_shopping_list.recipe_id": "id"},
    synonyms={"recipe": ["dish"]},
)
