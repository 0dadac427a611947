"""Shopping: a product catalogue, a cart, checkout and order tracking."""

from __future__ import annotations

import datetime as dt
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

CATALOGUE = {  # category -> (item kinds, price range in dollars)
    "electronics": (["Headphones", "Speaker", "Charger", "Keyboard", "Webcam", "Smartwatch"],
                    (15, 250)),
    "kitchen": (["Blender", "Kettle", "Knife Set", "Toaster", "Coffee Grinder", "Frying Pan"],
                (12, 180)),
    "books": (["Cookbook", "Travel Guide", "Mystery Novel", "Atlas", "Poetry Collection",
               "Sci-Fi Novel"], (6, 45)),
    "toys": (["Puzzle", "Robot Kit", "Plush Bear", "Kite", "Board Game", "Train Set"], (8, 90)),
    "sports": (["Yoga Mat", "Tennis Racket", "Dumbbell Set", "Running Shoes", "Bike Helmet",
                "Water Bottle"], (9, 160)),
    "garden": (["Garden Hose", "Pruning Shears", "Planter", "Bird Feeder", "Watering Can",
                "Seed Kit"], (5, 70)),
}
CATEGORIES = list(CATALOGUE)
CATEGORY = Literal["any", "electronics", "kitchen", "books", "toys", "sports", "garden"]
BRANDS = ["Apex", "Nova", "Zenith", "Orbit", "Lumen", "Vero", "Kestrel", "Maple", "Quartz",
          "Solace", "Ember", "Tidal"]
STATUSES = ["processing", "shipped", "delivered", "cancelled"]
PROMO_WORDS = ["SAVE", "SPRING", "HELLO", "DEAL", "BONUS", "TREAT"]
SHIPPING = {"standard": (499, 5), "express": (1499, 1)}  # cost in cents, days to arrive
FREE_SHIPPING_FROM = 5000  # standard shipping is free from this subtotal (cents)
PER_CATEGORY = 5
TODAY = dt.date(2026, 6, 15)
MAX_LIST = 10


@dataclass
class ShoppingWorld(World):
    products: dict[str, dict] = field(default_factory=dict)  # product_id -> product (cents)
    cart: dict[str, int] = field(default_factory=dict)  # product_id -> quantity
    orders: dict[str, dict] = field(default_factory=dict)  # order_id -> order
    promos: dict[str, int] = field(default_factory=dict)  # code -> percent off
    next_order: int = 1


def _money(cents: int) -> float:
    return round(cents / 100, 2)


def make_world(rng: np.random.Generator) -> ShoppingWorld:
    w = ShoppingWorld()
    n = len(CATEGORIES) * PER_CATEGORY
    ids = rng.choice(9000, size=n, replace=False) + 1000
    brands = rng.integers(0, len(BRANDS), size=n)
    stock = np.where(rng.random(size=n) < 0.15, 0, rng.integers(1, 40, size=n))
    weights = rng.integers(10, 800, size=n)
    k = 0
    for cat in CATEGORIES:
        kinds, (lo, hi) = CATALOGUE[cat]
        picks = rng.permutation(len(kinds))[:PER_CATEGORY]
        prices = rng.choice((hi - lo) * 100, size=PER_CATEGORY, replace=False) + lo * 100 - 1
        ratings = rng.choice(26, size=PER_CATEGORY, replace=False)
        for j in range(PER_CATEGORY):
            pid = f"P{int(ids[k])}"
            w.products[pid] = {"product_id": pid,
                               "name": f"{BRANDS[int(brands[k])]} {kinds[int(picks[j])]}",
                               "category": cat, "price": int(prices[j]),
                               "rating": round(2.5 + int(ratings[j]) / 10, 1),
                               "stock": int(stock[k]), "weight_kg": int(weights[k]) / 100}
            k += 1
    pids = sorted(w.products)
    for p in rng.choice(n, size=int(rng.integers(3)), replace=False):
        prod = w.products[pids[int(p)]]
        if prod["stock"] >= 2:
            w.cart[prod["product_id"]] = 1 + int(prod["stock"] > 5)
    order_ids = rng.choice(90000, size=3, replace=False) + 10000
    statuses = rng.permutation(len(STATUSES))
    items = rng.choice(n, size=3, replace=False)
    ages = rng.integers(1, 20, size=3)
    for o in range(3):
        prod = w.products[pids[int(items[o])]]
        placed = TODAY - dt.timedelta(days=int(ages[o]))
        status = STATUSES[int(statuses[o])]
        oid = f"ORD-{int(order_ids[o])}"
        w.orders[oid] = {"order_id": oid, "placed": placed.isoformat(), "status": status,
                         "items": [{"product_id": prod["product_id"], "name": prod["name"],
                                    "quantity": 1, "unit_price": prod["price"]}],
                         "total": prod["price"], "shipping": "standard", "promo_code": "",
                         "eta": None if status == "cancelled"
                         else (placed + dt.timedelta(days=5)).isoformat()}
    words = rng.choice(len(PROMO_WORDS), size=2, replace=False)
    pcts = rng.choice([5, 10, 15, 20, 25], size=2, replace=False)
    for wd, pct in zip(words, pcts, strict=True):
        w.promos[f"{PROMO_WORDS[int(wd)]}{int(pct)}"] = int(pct)
    return w


def _product(world: ShoppingWorld, product_id: str) -> dict:
    return lookup_id(world.products, product_id,
                     "unknown product id '{id}'; call search_products to find product ids")


def _brief(p: dict) -> dict:
    return {"product_id": p["product_id"], "name": p["name"], "category": p["category"],
            "price": _money(p["price"]), "rating": p["rating"], "in_stock": p["stock"] > 0}


def _order_view(o: dict) -> dict:
    items = [{**i, "unit_price": _money(i["unit_price"])} for i in o["items"]]
    return {**o, "items": items, "total": _money(o["total"])}


@tool
def search_products(
    world: ShoppingWorld,
    query: str = "",
    category: CATEGORY = "any",
    max_price: float | None = None,
    sort_by: Literal["relevance", "price_asc", "price_desc", "rating"] = "relevance",
) -> list[dict]:
    """Search the catalogue by words in the product name, category and price (at most 10 hits).

    Args:
        query: Words that must all appear in the product name, e.g. Nova Kettle; empty for all.
        category: Only this category, or any.
        max_price: Highest price in USD to include; leave out for no limit.
        sort_by: relevance, price_asc (cheapest first), price_desc or rating (best first).
    """
    if max_price is not None and (not math.isfinite(max_price) or max_price <= 0):
        raise ToolError(f"max_price must be a positive number of USD, got {max_price}")
    words = query.lower().split()
    q = " ".join(words)
    hits = [p for p in world.products.values()
            if category in ("any", p["category"])
            and (max_price is None or p["price"] <= max_price * 100 + 1e-6)
            and all(wd in p["name"].lower() for wd in words)]
    keys = {
        "relevance": lambda p: (p["name"].lower() != q, p["name"]),
        "price_asc": lambda p: (p["price"], p["name"]),
        "price_desc": lambda p: (-p["price"], p["name"]),
        "rating": lambda p: (-p["rating"], p["price"], p["name"]),
    }
    return [_brief(p) for p in sorted(hits, key=keys[sort_by])[:MAX_LIST]]


@tool
def get_product(world: ShoppingWorld, product_id: str) -> dict:
    """Full details of a product: price, rating, units in stock and shipping weight.

    Args:
        product_id: Product id from search_products, e.g. P1234.
    """
    p = _product(world, product_id)
    return {**_brief(p), "stock": p["stock"], "weight_kg": p["weight_kg"], "currency": "USD"}


@tool(side_effects=True)
def add_to_cart(world: ShoppingWorld, product_id: str, quantity: int = 1) -> dict:
    """Add units of a product to the cart.

    Args:
        product_id: Product id from search_products, e.g. P1234.
        quantity: Number of units to add (1 to 20).
    """
    p = _product(world, product_id)
    if not 1 <= quantity <= 20:
        raise ToolError(f"quantity must be between 1 and 20, got {quantity}")
    have = world.cart.get(p["product_id"], 0)
    if have + quantity > p["stock"]:
        raise ToolError(f"only {p['stock']} of '{p['name']}' in stock and {have} already in the "
                        f"cart; add at most {max(0, p['stock'] - have)}")
    world.cart[p["product_id"]] = have + quantity
    return {"status": "added", "product_id": p["product_id"], "name": p["name"],
            "quantity_in_cart": have + quantity}


def _cart_lines(world: ShoppingWorld) -> list[dict]:
    return [{"product_id": pid, "name": world.products[pid]["name"], "quantity": q,
             "unit_price": world.products[pid]["price"]} for pid, q in world.cart.items()]


@tool
def view_cart(world: ShoppingWorld) -> dict:
    """The items in the cart with quantities and the subtotal in USD."""
    lines = _cart_lines(world)
    return {"items": [{**ln, "unit_price": _money(ln["unit_price"]),
                       "line_total": _money(ln["unit_price"] * ln["quantity"])} for ln in lines],
            "subtotal": _money(sum(ln["unit_price"] * ln["quantity"] for ln in lines)),
            "currency": "USD"}


@tool(side_effects=True)
def place_order(
    world: ShoppingWorld,
    shipping: Literal["standard", "express"] = "standard",
    promo_code: str = "",
    product_id: str = "",
    quantity: int = 1,
) -> dict:
    """Place an order: check out the whole cart (which is then emptied), or buy one product now.

    Args:
        shipping: standard (5 days, free from 50 USD) or express (1 day).
        promo_code: Optional discount code, e.g. SAVE10; empty for none.
        product_id: Buy now: order only this product, leaving the cart as it is; empty to
            check out the cart.
        quantity: Units to buy with product_id (1 to 20); only used with product_id.
    """
    direct = bool(product_id.strip())
    if direct:
        p = _product(world, product_id)
        if not 1 <= quantity <= 20:
            raise ToolError(f"quantity must be between 1 and 20, got {quantity}")
        lines = [{"product_id": p["product_id"], "name": p["name"], "quantity": quantity,
                  "unit_price": p["price"]}]
    else:
        if quantity != 1:
            raise ToolError("quantity only applies with product_id; to change how many units "
                            "are in the cart, use add_to_cart")
        lines = _cart_lines(world)
        if not lines:
            raise ToolError("the cart is empty; call add_to_cart first, or pass product_id "
                            "to buy one product now")
    code = promo_code.strip().upper()
    if code and code not in world.promos:
        raise ToolError(f"promo code '{promo_code}' is not valid; check the code or leave it "
                        "empty")
    for ln in lines:
        if ln["quantity"] > world.products[ln["product_id"]]["stock"]:
            raise ToolError(f"only {world.products[ln['product_id']]['stock']} of "
                            f"'{ln['name']}' in stock; order at most that many")
    subtotal = sum(ln["unit_price"] * ln["quantity"] for ln in lines)
    discount = subtotal * world.promos.get(code, 0) // 100
    cost, days = SHIPPING[shipping]
    if shipping == "standard" and subtotal - discount >= FREE_SHIPPING_FROM:
        cost = 0
    for ln in lines:
        world.products[ln["product_id"]]["stock"] -= ln["quantity"]
    oid = f"ORD-NEW{world.next_order}"
    world.next_order += 1
    world.orders[oid] = {"order_id": oid, "placed": TODAY.isoformat(), "status": "processing",
                         "items": lines, "total": subtotal - discount + cost, "shipping": shipping,
                         "promo_code": code,
                         "eta": (TODAY + dt.timedelta(days=days)).isoformat()}
    if not direct:
        world.cart = {}
    return {**_order_view(world.orders[oid]), "subtotal": _money(subtotal),
            "discount": _money(discount), "shipping_cost": _money(cost)}


@tool
def get_order(world: ShoppingWorld, order_id: str) -> dict:
    """Status, items, total and expected delivery date of an order.

    Args:
        order_id: Order number, e.g. ORD-12345.
    """
    o = lookup_id(world.orders, order_id, "unknown order '{id}'; order numbers look like ORD-12345")
    return _order_view(o)


TOOLS = [search_products, get_product, add_to_cart, view_cart, place_order, get_order]


def _pick(rng: np.random.Generator, items: list) -> object:
    return items[int(rng.integers(len(items)))]


def _cart_is(expected: dict[str, int]) -> object:
    def pred(w: ShoppingWorld) -> bool:
        return w.cart == expected

    return pred


def _budget(rng: np.random.Generator, world: ShoppingWorld, cat: str) -> int:
    """A whole-dollar budget that at least one product of the category fits."""
    prices = sorted(p["price"] for p in world.products.values() if p["category"] == cat)
    return (prices[int(rng.integers(len(prices)))] // 500 + 1) * 5


def make_task(rng: np.random.Generator, world: ShoppingWorld, seed: int) -> Task:
    kind = int(rng.integers(8))
    cat = str(_pick(rng, CATEGORIES))
    pids = sorted(world.products)
    prod = world.products[str(_pick(rng, pids))]
    name = prod["name"]
    find = Step("search_products", {"query": name})
    if kind == 0:
        return Task("", "shopping", f"How much does the {name} cost in USD?", [find],
                    Ref(0, "0.price"), answer_is(_money(prod["price"])))
    if kind == 1:
        same = [p for p in pids if world.products[p]["category"] == prod["category"]
                and p != prod["product_id"]]
        other = world.products[str(_pick(rng, same))]
        cheaper = min(prod, other, key=lambda p: p["price"])
        return Task("", "shopping", f"Which is cheaper, the {name} or the {other['name']}? "
                    "Give its name and price in USD.",
                    [find, Step("search_products", {"query": other["name"]})],
                    f"{cheaper['name']} at {_money(cheaper['price']):.2f} USD",
                    all_of(answer_is(cheaper["name"]), answer_is(_money(cheaper["price"]))))
    if kind == 2:
        budget = _budget(rng, world, cat)
        best = search_products.fn(world, category=cat, max_price=budget, sort_by="rating")[0]
        weight = world.products[best["product_id"]]["weight_kg"]
        return Task("", "shopping", f"What is the shipping weight in kg of the highest-rated {cat} "
                    f"product that costs at most {budget} USD?",
                    [Step("search_products", {"category": cat, "max_price": float(budget),
                                              "sort_by": "rating"}),
                     Step("get_product", {"product_id": Ref(0, "0.product_id")})],
                    Ref(1, "weight_kg"), answer_is(weight))
    if kind == 5:
        oid = str(_pick(rng, sorted(world.orders)))
        status = world.orders[oid]["status"]
        return Task("", "shopping", f"What is the status of my order {oid}?",
                    [Step("get_order", {"order_id": oid})], Ref(0, "status"), answer_is(status))
    if kind == 7:
        if rng.random() < 0.5:
            args: dict = {"category": cat, "sort_by": "price_asc"}
            what = f"the cheapest {cat} product that is in stock"
        else:
            budget = _budget(rng, world, cat)
            args = {"category": cat, "max_price": float(budget), "sort_by": "rating"}
            what = (f"the highest-rated {cat} product that costs at most {budget} USD and is "
                    "in stock")
        ranked = search_products.fn(world, **args)
        idx = next((i for i, p in enumerate(ranked) if p["in_stock"]), None)
        if idx is not None and ranked[idx]["product_id"] not in world.cart:
            pid = ranked[idx]["product_id"]
            return Task("", "shopping", f"Add one unit of {what} to my cart, then say done.",
                        [Step("search_products", args),
                         Step("add_to_cart", {"product_id": Ref(0, f"{idx}.product_id"),
                                              "quantity": 1})],
                        "done", world_has(_cart_is({**world.cart, pid: 1})))
        kind = 3
    # kinds 3, 4 and 6: a named product goes into the cart (3, 6) or is bought (4)
    able = [p for p in pids if world.products[p]["stock"] >= 1 and p not in world.cart]
    prod = world.products[str(_pick(rng, able))]
    pid, name = prod["product_id"], prod["name"]
    qty = 1 + int(rng.integers(min(prod["stock"], 4)))
    plan = [Step("search_products", {"query": name}),
            Step("add_to_cart", {"product_id": Ref(0, "0.product_id"), "quantity": qty})]
    units = f"{qty} unit{'s' if qty > 1 else ''} of the {name}"
    cart = {**world.cart, pid: qty}
    if kind == 3:
        return Task("", "shopping", f"Add {units} to my cart, then say done.", plan, "done",
                    world_has(_cart_is(cart)))
    if kind == 6:
        trial = world.fork()
        add_to_cart.fn(trial, pid, qty)
        subtotal = view_cart.fn(trial)["subtotal"]
        return Task("", "shopping", f"Add {units} to my cart, then tell me the cart subtotal in "
                    "USD.", [*plan, Step("view_cart", {})], Ref(2, "subtotal"),
                    all_of(answer_is(subtotal), world_has(_cart_is(cart))))
    ship = str(_pick(rng, list(SHIPPING)))
    code = str(_pick(rng, sorted(world.promos) + [""]))
    promo = f" using promo code {code}" if code else ""
    before, cart_before = set(world.orders), dict(world.cart)
    if world.cart and rng.random() < 0.3:  # check out the cart as it is
        order = place_order.fn(world.fork(), ship, code)
        items = dict(world.cart)
        plan = [Step("place_order", {"shipping": ship, "promo_code": code})]
        cart_after: dict[str, int] = {}
        query = f"Check out my cart with {ship} shipping{promo}. Tell me the order total in USD."
    else:  # buy one product now, leaving the cart alone
        order = place_order.fn(world.fork(), ship, code, pid, qty)
        items, cart_after = {pid: qty}, cart_before
        plan = [Step("search_products", {"query": name}),
                Step("place_order", {"shipping": ship, "promo_code": code,
                                     "product_id": Ref(0, "0.product_id"), "quantity": qty})]
        keep = " without touching my cart" if world.cart else ""
        query = (f"Buy {units} right away{keep}, with {ship} shipping{promo}. Tell me the order "
                 "total in USD.")
    stock_left = {p: world.products[p]["stock"] - q for p, q in items.items()}

    def ordered(w: ShoppingWorld) -> bool:
        new = [o for oid, o in w.orders.items() if oid not in before]
        return (len(new) == 1 and new[0]["shipping"] == ship and new[0]["promo_code"] == code
                and {i["product_id"]: i["quantity"] for i in new[0]["items"]} == items
                and all(w.products[p]["stock"] == n for p, n in stock_left.items())
                and w.cart == cart_after)

    return Task("", "shopping", query, plan, Ref(len(plan) - 1, "total"),
                all_of(answer_is(order["total"]), world_has(ordered)))


DOMAIN = Domain(
    name="shopping",
    title="Shopping",
    description="An online shop: search products, manage the cart, check out and track orders.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="seen",
    hints={"search_products.category": "enum", "search_products.max_price": "amount",
           "search_products.sort_by": "enum", "get_product.product_id": "id",
           "add_to_cart.product_id": "id", "place_order.shipping": "enum",
           "get_order.order_id": "id"},
    synonyms={"product": ["item", "article"]},
)
