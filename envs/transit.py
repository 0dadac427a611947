"""Transit: a city public-transport API with stops, routes, a day's timetable, zone fares and
rider travel cards.

The world is a seeded network of stops in fare zones 1-4, bus, tram and metro routes that run
both ways at a fixed headway, and travel cards with a balance; topping up a card and buying a
ticket (which deducts the fare) change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

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

HUBS = ["Central Station", "Town Hall", "University", "City Hospital", "Cathedral Square",
        "Riverside Interchange"]
PREFIX = ["Harbour", "Mill", "Elm", "Kingsway", "Victoria", "Castle", "Church", "Oak", "Bridge",
          "Abbey", "Canal", "Forge", "Orchard", "Union", "Cedar", "Willow", "Beacon", "Copper",
          "Fern", "Granite", "Heather", "Ivy", "Juniper", "Lark", "Maple", "Nettle", "Poplar",
          "Quarry", "Rowan", "Saffron", "Thistle", "Vale"]
SUFFIX = ["Street", "Road", "Lane", "Park", "Gate", "Cross", "Green", "Way", "Terrace", "Common",
          "Quay", "Avenue"]
FIRST = ["Amara", "Bruno", "Celia", "Dmitri", "Esther", "Felix", "Greta", "Hassan", "Iris",
         "Julian", "Keiko", "Lionel", "Marta", "Nadia", "Oscar", "Priya", "Quentin", "Rosa"]
LAST = ["Abbott", "Baptiste", "Castellano", "Delacroix", "Eklund", "Fairweather", "Grunwald",
        "Hollis", "Iwasaki", "Jablonski", "Kaur", "Lindqvist", "Mbeki", "Novak", "Oyelaran"]
RIDER = Literal["adult", "child", "student", "senior"]
MODE = Literal["any", "bus", "tram", "metro"]
# fare by rider type, indexed by the number of zones travelled in (1 to 4)
FARES = {"adult": [2.40, 3.10, 3.80, 4.50], "child": [1.20, 1.50, 1.90, 2.20],
         "student": [1.80, 2.30, 2.80, 3.40], "senior": [1.00, 1.30, 1.60, 1.90]}
# mode -> (headways in minutes, minutes between stops)
SERVICE = {"metro": ([4, 5, 6, 8], (2, 3)), "tram": ([6, 8, 10, 12], (2, 4)),
           "bus": ([10, 12, 15, 20, 30], (2, 5))}
TIME = Annotated[str, {"pattern": r"^\d{2}:\d{2}$", "description": "24-hour time as HH:MM"}]
N_HUBS = 4
N_ROUTES = 6
N_CARDS = 6
MAX_RESULTS = 8
MAX_DEPARTURES = 20
TOP_UP_MIN, TOP_UP_MAX, BALANCE_CAP = 1.0, 100.0, 200.0


@dataclass
class TransitWorld(World):
    stops: dict[str, dict] = field(default_factory=dict)  # stop id -> stop
    routes: dict[str, dict] = field(default_factory=dict)  # route id -> route and timetable
    cards: dict[str, dict] = field(default_factory=dict)  # card id -> card
    tickets: list[dict] = field(default_factory=list)  # tickets issued today
    next_ticket: int = 1


def _hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


def _mins(text: str) -> int:
    return int(text[:2]) * 60 + int(text[3:])


def make_world(rng: np.random.Generator) -> TransitWorld:
    w = TransitWorld()
    n_branch = rng.integers(4, 6, N_ROUTES).tolist()  # outer stops per route
    combos = rng.permutation(len(PREFIX) * len(SUFFIX)).tolist()
    names, used = [], set()
    for c in combos:  # one stop per name prefix, so a search for "Mill" finds one stop
        if PREFIX[c // len(SUFFIX)] not in used:
            used.add(PREFIX[c // len(SUFFIX)])
            names.append(f"{PREFIX[c // len(SUFFIX)]} {SUFFIX[c % len(SUFFIX)]}")
    hubs = [HUBS[i] for i in rng.permutation(len(HUBS))[:N_HUBS].tolist()]
    n_stops = N_HUBS + sum(n_branch)
    ids = (rng.permutation(900)[:n_stops] + 100).tolist()
    for k, name in enumerate(hubs):
        w.stops[f"S{ids[k]}"] = {"stop_id": f"S{ids[k]}", "name": name, "zone": 1}
    hub_ids = list(w.stops)
    route_nums = sorted((rng.permutation(98)[:N_ROUTES] + 1).tolist())
    modes = ["metro", "tram", "tram", "bus", "bus", "bus"]
    nxt = N_HUBS
    for r in range(N_ROUTES):
        mode = modes[r]
        headways, (lo, hi) = SERVICE[mode]
        left = int(n_branch[r]) // 2 + int(rng.integers(0, 2)) * (int(n_branch[r]) % 2)
        branches = []
        for size in (left, int(n_branch[r]) - left):
            zones = sorted(rng.integers(1, 5, size).tolist())  # outward: zone never falls
            branch = []
            for z in zones:
                sid = f"S{ids[nxt]}"
                w.stops[sid] = {"stop_id": sid, "name": names[nxt - N_HUBS], "zone": int(z)}
                branch.append(sid)
                nxt += 1
            branches.append(branch)
        pair = [hub_ids[i] for i in rng.permutation(N_HUBS)[:2].tolist()]
        order = branches[0][::-1] + pair + branches[1]
        h = headways[int(rng.integers(len(headways)))]
        first = 5 * 60 + 30 + 5 * int(rng.integers(0, 13))  # 05:30 to 06:30
        last = 22 * 60 + 5 * int(rng.integers(0, 17))  # 22:00 to 23:20
        rid = f"R{route_nums[r]}"
        w.routes[rid] = {"route_id": rid, "mode": mode, "stops": order, "headway": h,
                         "first": first, "last": last, "offset": int(rng.integers(0, h)),
                         "legs": rng.integers(lo, hi + 1, len(order) - 1).tolist()}
    m = rng.integers(0, 1 << 30, (N_CARDS, 3)).tolist()
    cids = (rng.permutation(90000)[:N_CARDS] + 10000).tolist()
    types = list(FARES)
    for k in range(N_CARDS):
        cid = f"C{cids[k]}"
        cents = 5 * int(rng.integers(0, 20)) if k == 0 else 500 + 5 * int(rng.integers(0, 700))
        w.cards[cid] = {"card_id": cid,
                        "holder": f"{FIRST[m[k][0] % len(FIRST)]} {LAST[m[k][1] % len(LAST)]}",
                        "rider_type": types[m[k][2] % len(types)], "balance": cents / 100}
    return w


def _stop(world: TransitWorld, stop_id: str) -> dict:
    return lookup_id(world.stops, stop_id,
                     "stop '{id}' is not in the network; stop ids are an S and three "
                     "digits (e.g. S123), and find_stop looks them up by stop name")


def _card(world: TransitWorld, card_id: str) -> dict:
    return lookup_id(world.cards, card_id,
                     "travel card '{id}' was not recognised; card numbers are a C "
                     "and five digits as printed on the card, e.g. C12345")


def _clock(text: str, what: str) -> int:
    t = text.strip()
    if len(t) != 5 or t[2] != ":" or not (t[:2] + t[3:]).isdigit() \
            or int(t[:2]) > 23 or int(t[3:]) > 59:
        raise ToolError(f"{what} '{text[:20]}' is not a clock time; write it as 24-hour HH:MM "
                        "from 00:00 to 23:59, e.g. 07:45")
    return _mins(t)


def _serving(world: TransitWorld, sid: str) -> list[str]:
    return [rid for rid, rt in world.routes.items() if sid in rt["stops"]]


def _trips(rt: dict, i: int, j: int, after: int, n: int) -> list[tuple[int, int]]:
    """The next ``n`` (departure at stop index i, arrival at index j) on route ``rt`` at or
    after ``after``; the direction follows from i < j (outbound) or i > j (inbound)."""
    cum = [0]
    for leg in rt["legs"]:
        cum.append(cum[-1] + leg)
    if i < j:
        start, off, ride = rt["first"], cum[i], cum[j] - cum[i]
    else:
        start, off, ride = rt["first"] + rt["offset"], cum[-1] - cum[i], cum[i] - cum[j]
    h = rt["headway"]
    k = max(0, -(-(after - start - off) // h))
    out = []
    while len(out) < n and start + k * h <= rt["last"]:
        dep = start + k * h + off
        out.append((dep, dep + ride))
        k += 1
    return out


def _departures(world: TransitWorld, sid: str, routes: list[str], after: int,
                limit: int) -> list[dict]:
    found = []
    for rid in routes:
        rt = world.routes[rid]
        i = rt["stops"].index(sid)
        for j in (len(rt["stops"]) - 1, 0):
            if i == j:
                continue  # the end of the line in this direction
            towards = world.stops[rt["stops"][j]]["name"]
            for dep, _ in _trips(rt, i, j, after, limit):
                found.append((dep, rid, towards, rt["mode"]))
    found.sort()
    return [{"time": _hhmm(d), "route_id": r, "mode": m, "towards": t}
            for d, r, t, m in found[:limit]]


def _fare(world: TransitWorld, a: dict, b: dict, rider_type: str) -> tuple[int, float]:
    if a["stop_id"] == b["stop_id"]:
        raise ToolError(f"the journey starts and ends at the same stop ({a['stop_id']}); give two "
                        "different stops")
    zones = abs(a["zone"] - b["zone"]) + 1
    return zones, FARES[rider_type][zones - 1]


@tool
def find_stop(world: TransitWorld, name: str = "") -> dict:
    """Look up stops by name (exact matches first); each result has the stop id, fare zone and
    the routes that call there.

    Args:
        name: All or part of a stop name, e.g. Central Station or Mill; empty lists every stop.
    """
    q = " ".join(name.lower().split())
    hits = [s for s in world.stops.values() if q in s["name"].lower()]
    hits.sort(key=lambda s: (s["name"].lower() != q, not s["name"].lower().startswith(q),
                             s["name"]))
    out: dict = {"count": len(hits),
                 "results": [{**s, "routes": _serving(world, s["stop_id"])}
                             for s in hits[:MAX_RESULTS]]}
    if len(hits) > MAX_RESULTS:
        out["note"] = f"first {MAX_RESULTS} of {len(hits)} stops shown; type more of the name"
    if not hits:
        out["note"] = "no stop has that in its name; try one word of it, e.g. 'Harbour'"
    return out


@tool
def next_departures(world: TransitWorld, stop_id: str, after: TIME = "00:00",
                    route: str | None = None, mode: MODE = "any", limit: int = 5) -> dict:
    """The next departures from a stop in today's timetable, soonest first, each with its route,
    mode and the terminus it runs towards.

    Args:
        stop_id: Stop id from find_stop, e.g. S123.
        after: Earliest departure time to show (inclusive), 24-hour HH:MM.
        route: Only this route, e.g. R7; omit for every route calling at the stop.
        mode: Only bus, tram or metro services, or any.
        limit: How many departures to show, 1 to 20.
    """
    st = _stop(world, stop_id)
    sid = st["stop_id"]
    start = _clock(after, "after")
    if not 1 <= limit <= MAX_DEPARTURES:
        raise ToolError(f"limit {limit} is out of range; ask for 1 to {MAX_DEPARTURES} departures")
    here = _serving(world, sid)
    routes = here
    if route is not None and route.strip():
        rid = route.strip().upper()
        if rid not in world.routes:
            raise ToolError(f"there is no route '{route[:20]}'; routes calling at {sid} are "
                            f"{', '.join(here)}")
        if rid not in here:
            raise ToolError(f"route {rid} does not call at {sid} ({st['name']}); it is served by "
                            f"{', '.join(here)}")
        routes = [rid]
    if mode != "any":
        routes = [r for r in routes if world.routes[r]["mode"] == mode]
    deps = _departures(world, sid, routes, start, int(limit))
    out: dict = {"stop_id": sid, "name": st["name"], "after": _hhmm(start), "departures": deps}
    if not routes:
        out["note"] = f"no {mode} service calls at {sid}; set mode to any"
    elif not deps:
        out["note"] = f"service has finished for the day after {_hhmm(start)}; try an earlier time"
    return out


@tool
def plan_trip(world: TransitWorld, from_stop: str, to_stop: str,
              depart_after: TIME = "00:00") -> dict:
    """Direct journeys (no change of vehicle) between two stops, earliest arrival first, with
    route, departure and arrival times, minutes on board and stops travelled.

    Args:
        from_stop: Stop id where the trip starts, e.g. S123.
        to_stop: Stop id where the trip ends, e.g. S456.
        depart_after: Leave no earlier than this 24-hour HH:MM time.
    """
    a, b = _stop(world, from_stop), _stop(world, to_stop)
    start = _clock(depart_after, "depart_after")
    zones, _ = _fare(world, a, b, "adult")
    options, shared = [], []
    for rid, rt in world.routes.items():
        if a["stop_id"] in rt["stops"] and b["stop_id"] in rt["stops"]:
            shared.append(rid)
            i, j = rt["stops"].index(a["stop_id"]), rt["stops"].index(b["stop_id"])
            end = rt["stops"][-1] if i < j else rt["stops"][0]
            for dep, arr in _trips(rt, i, j, start, 2):
                options.append({"route_id": rid, "mode": rt["mode"],
                                "towards": world.stops[end]["name"], "depart": _hhmm(dep),
                                "arrive": _hhmm(arr), "minutes": arr - dep, "stops": abs(j - i)})
    if not shared:
        ra, rb = _serving(world, a["stop_id"]), _serving(world, b["stop_id"])
        raise ToolError(f"no single route links {a['stop_id']} ({', '.join(ra)}) with "
                        f"{b['stop_id']} ({', '.join(rb)}); plan each leg separately via a stop "
                        "both routes call at")
    if not options:
        raise ToolError(f"nothing runs directly from {a['stop_id']} to {b['stop_id']} at or after "
                        f"{_hhmm(start)}; the service day has ended, try an earlier time")
    options.sort(key=lambda o: (o["arrive"], o["depart"], o["route_id"]))
    return {"from_stop": a["stop_id"], "to_stop": b["stop_id"], "zones": zones,
            "options": options[:4]}


@tool
def fare_quote(world: TransitWorld, from_stop: str, to_stop: str,
               rider_type: RIDER = "adult") -> dict:
    """The single-journey fare between two stops: it depends on how many zones the trip spans
    (from the lower to the higher zone, counting both) and on the rider type.

    Args:
        from_stop: Stop id where the trip starts, e.g. S123.
        to_stop: Stop id where the trip ends, e.g. S456.
        rider_type: Fare category: adult, child, student or senior.
    """
    a, b = _stop(world, from_stop), _stop(world, to_stop)
    zones, fare = _fare(world, a, b, rider_type)
    return {"from_stop": a["stop_id"], "to_stop": b["stop_id"], "zones": zones,
            "rider_type": rider_type, "fare": fare}


@tool
def get_card(world: TransitWorld, card_id: str) -> dict:
    """A travel card's holder, rider type (which sets its fares), balance and the tickets
    bought with it today.

    Args:
        card_id: Travel card number, e.g. C12345.
    """
    cd = _card(world, card_id)
    tickets = [t for t in world.tickets if t["card_id"] == cd["card_id"]]
    return {**cd, "tickets": tickets}


@tool(side_effects=True)
def top_up_card(world: TransitWorld, card_id: str, amount: float) -> dict:
    """Add credit to a travel card; a top-up is 1.00 to 100.00 and a card holds at most 200.00.

    Args:
        card_id: Travel card number, e.g. C12345.
        amount: Credit to add, in dollars with at most two decimals, e.g. 10.50.
    """
    cd = _card(world, card_id)
    if not TOP_UP_MIN <= amount <= TOP_UP_MAX:
        raise ToolError(f"a top-up of {amount:g} is not accepted; choose an amount from "
                        f"{TOP_UP_MIN:.2f} to {TOP_UP_MAX:.2f}")
    if abs(amount * 100 - round(amount * 100)) > 1e-6:
        raise ToolError(f"top-up {amount:g} has fractions of a cent; round it to two decimals")
    new = round(cd["balance"] + amount, 2)
    if new > BALANCE_CAP:
        raise ToolError(f"card {cd['card_id']} would hold {new:.2f}, above the "
                        f"{BALANCE_CAP:.2f} limit; top up at most "
                        f"{BALANCE_CAP - cd['balance']:.2f}")
    cd["balance"] = new
    return {"status": "topped_up", "card_id": cd["card_id"], "added": round(amount, 2),
            "balance": new}


@tool(side_effects=True)
def buy_ticket(world: TransitWorld, card_id: str, from_stop: str, to_stop: str) -> dict:
    """Buy a single-journey ticket between two stops, paid from the card's balance at the fare
    of the card's rider type.

    Args:
        card_id: Travel card number, e.g. C12345.
        from_stop: Stop id where the trip starts, e.g. S123.
        to_stop: Stop id where the trip ends, e.g. S456.
    """
    cd = _card(world, card_id)
    a, b = _stop(world, from_stop), _stop(world, to_stop)
    zones, fare = _fare(world, a, b, cd["rider_type"])
    if cd["balance"] + 1e-9 < fare:
        raise ToolError(f"card {cd['card_id']} has {cd['balance']:.2f} left but the {zones}-zone "
                        f"{cd['rider_type']} fare is {fare:.2f}; add credit with top_up_card, "
                        "then buy again")
    cd["balance"] = round(cd["balance"] - fare, 2)
    ticket = {"ticket_id": f"T{world.next_ticket:04d}", "card_id": cd["card_id"],
              "from_stop": a["stop_id"], "to_stop": b["stop_id"], "zones": zones,
              "rider_type": cd["rider_type"], "fare": fare}
    world.next_ticket += 1
    world.tickets.append(ticket)
    return {"status": "issued", **ticket, "balance": cd["balance"]}


TOOLS = [find_stop, next_departures, plan_trip, fare_quote, get_card, top_up_card, buy_ticket]


def _time_is(hhmm: str) -> object:
    """The answer names the time as 09:30 or 9:30."""
    forms = [answer_is(hhmm), answer_is(hhmm.lstrip("0") or "0:00")]

    def check(answer: str | None, world: World) -> bool:
        return any(f(answer, world) for f in forms)

    return check


def _has_ticket(cid: str, a: str, b: str, balance: float) -> object:
    def ok(w: TransitWorld) -> bool:
        return (any(t["card_id"] == cid and t["from_stop"] == a and t["to_stop"] == b
                    for t in w.tickets) and abs(w.cards[cid]["balance"] - balance) < 1e-6)

    return ok


def make_task(rng: np.random.Generator, world: TransitWorld, seed: int) -> Task:
    kind = int(rng.integers(11))
    stops = sorted(world.stops)
    cards = sorted(world.cards)
    clock = _hhmm(6 * 60 + 5 * int(rng.integers(0, 181)))  # 06:00 to 21:00
    after = _mins(clock)

    def name(sid: str) -> str:
        return world.stops[sid]["name"]

    def find(sid: str) -> Step:
        return Step("find_stop", {"name": name(sid)})

    if kind == 0:  # zone of a stop, by name
        sid = stops[int(rng.integers(len(stops)))]
        return Task("", "transit", f"Which fare zone is the {name(sid)} stop in?", [find(sid)],
                    Ref(0, "results.0.zone"), answer_is(world.stops[sid]["zone"]))
    if kind == 1:  # card balance
        cid = cards[int(rng.integers(len(cards)))]
        return Task("", "transit", f"How much credit is left on travel card {cid}?",
                    [Step("get_card", {"card_id": cid})], Ref(0, "balance"),
                    answer_is(world.cards[cid]["balance"]))
    pair = [stops[i] for i in rng.permutation(len(stops))[:2].tolist()]
    if kind in (2, 7):  # fare between two stops
        rider = list(FARES)[int(rng.integers(len(FARES)))]
        _, fare = _fare(world, world.stops[pair[0]], world.stops[pair[1]], rider)
        art = "an" if rider[0] in "aeiou" else "a"
        if kind == 2:
            return Task("", "transit", f"What does a single {rider} fare from stop {pair[0]} to "
                        f"stop {pair[1]} cost?",
                        [Step("fare_quote", {"from_stop": pair[0], "to_stop": pair[1],
                                             "rider_type": rider})],
                        Ref(0, "fare"), answer_is(fare))
        return Task("", "transit", f"How much is a one-way ticket from {name(pair[0])} to "
                    f"{name(pair[1])} for {art} {rider}?",
                    [find(pair[0]), find(pair[1]),
                     Step("fare_quote", {"from_stop": Ref(0, "results.0.stop_id"),
                                         "to_stop": Ref(1, "results.0.stop_id"),
                                         "rider_type": rider})],
                    Ref(2, "fare"), answer_is(fare))
    if kind in (3, 8):  # next departure of a route in one direction
        rid = sorted(world.routes)[int(rng.integers(len(world.routes)))]
        rt = world.routes[rid]
        i = int(rng.integers(len(rt["stops"])))
        sid = rt["stops"][i]
        ends = [j for j in (0, len(rt["stops"]) - 1) if j != i]
        j = ends[int(rng.integers(len(ends)))]
        towards = name(rt["stops"][j])
        deps = _departures(world, sid, [rid], after, 5)
        k = next(n for n, d in enumerate(deps) if d["towards"] == towards)
        time = deps[k]["time"]
        args = {"stop_id": sid, "after": clock, "route": rid}
        if kind == 3:
            return Task("", "transit", f"I'll be at stop {sid} at {clock}. When does the next "
                        f"{rid} towards {towards} leave from there?",
                        [Step("next_departures", args)], Ref(0, f"departures.{k}.time"),
                        _time_is(time))
        return Task("", "transit", f"I get to {name(sid)} at {clock}. What time is the first "
                    f"{rt['mode']} on route {rid} in the direction of {towards} that I can "
                    "catch there?",
                    [find(sid), Step("next_departures", {**args, "stop_id":
                                                         Ref(0, "results.0.stop_id")})],
                    Ref(1, f"departures.{k}.time"), _time_is(time))
    if kind in (5, 9):  # earliest direct arrival
        rt = world.routes[sorted(world.routes)[int(rng.integers(len(world.routes)))]]
        a, b = [rt["stops"][i] for i in rng.permutation(len(rt["stops"]))[:2].tolist()]
        while True:
            try:
                arrive = plan_trip.fn(world, a, b, clock)["options"][0]["arrive"]
                break
            except ToolError:  # service over for the day: ask about an earlier time
                clock = _hhmm(_mins(clock) - 60)
        if kind == 5:
            return Task("", "transit", f"Going from stop {a} to stop {b} without changing, "
                        f"and leaving no earlier than {clock}, what is the earliest I can arrive?",
                        [Step("plan_trip", {"from_stop": a, "to_stop": b,
                                            "depart_after": clock})],
                        Ref(0, "options.0.arrive"), _time_is(arrive))
        return Task("", "transit", f"I need to get from {name(a)} to {name(b)} on a single "
                    f"vehicle, setting off at {clock} or later. When will I get there at the "
                    "earliest?",
                    [find(a), find(b),
                     Step("plan_trip", {"from_stop": Ref(0, "results.0.stop_id"),
                                        "to_stop": Ref(1, "results.0.stop_id"),
                                        "depart_after": clock})],
                    Ref(2, "options.0.arrive"), _time_is(arrive))
    if kind == 4:  # top up a card
        cid = cards[int(rng.integers(len(cards)))]
        amount = float([5, 10, 15, 20, 25, 30, 40, 50][int(rng.integers(8))])
        new = round(world.cards[cid]["balance"] + amount, 2)

        def topped(w: TransitWorld) -> bool:
            return abs(w.cards[cid]["balance"] - new) < 1e-6

        return Task("", "transit", f"Please add ${amount:.0f} to travel card {cid} and tell me "
                    "the balance afterwards.",
                    [Step("top_up_card", {"card_id": cid, "amount": amount})],
                    Ref(0, "balance"), all_of(world_has(topped), answer_is(new)))
    if kind == 6:  # buy a ticket by stop names, on a card with enough credit
        rich = [c for c in cards if world.cards[c]["balance"] >= FARES["adult"][-1]]
        cid = rich[int(rng.integers(len(rich)))]
        cd = world.cards[cid]
        _, fare = _fare(world, world.stops[pair[0]], world.stops[pair[1]], cd["rider_type"])
        left = round(cd["balance"] - fare, 2)
        return Task("", "transit", f"Buy a single ticket from {name(pair[0])} to "
                    f"{name(pair[1])} using travel card {cid}. How much credit remains on the "
                    "card?",
                    [find(pair[0]), find(pair[1]),
                     Step("buy_ticket", {"card_id": cid, "from_stop": Ref(0, "results.0.stop_id"),
                                         "to_stop": Ref(1, "results.0.stop_id")})],
                    Ref(2, "balance"),
                    all_of(world_has(_has_ticket(cid, pair[0], pair[1], left)), answer_is(left)))
    # kind 10: a nearly empty card, topped up and then used
    cid = min(cards, key=lambda c: world.cards[c]["balance"])
    cd = world.cards[cid]
    amount = float([5, 10, 15, 20][int(rng.integers(4))])
    _, fare = _fare(world, world.stops[pair[0]], world.stops[pair[1]], cd["rider_type"])
    left = round(cd["balance"] + amount - fare, 2)
    return Task("", "transit", f"Travel card {cid} only has {cd['balance']:.2f} on it. Load "
                f"${amount:.0f} onto it, then buy a ticket from stop {pair[0]} to stop {pair[1]} "
                "with it. What is the balance left?",
                [Step("top_up_card", {"card_id": cid, "amount": amount}),
                 Step("buy_ticket", {"card_id": cid, "from_stop": pair[0], "to_stop": pair[1]})],
                Ref(1, "balance"),
                all_of(world_has(_has_ticket(cid, pair[0], pair[1], left)), answer_is(left)))


DOMAIN = Domain(
    name="transit",
    title="Transit",
    description="City public transport: stops, timetables, trip planning, zone fares and "
                "travel cards.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="unseen",
    hints={"next_departures.stop_id": "id", "next_departures.after": "time",
           "next_departures.route": "id", "next_departures.mode": "enum",
           "plan_trip.from_stop": "id", "plan_trip.to_stop": "id",
           "plan_trip.depart_after": "time", "fare_quote.from_stop": "id",
           "fare_quote.to_stop": "id", "fare_quote.rider_type": "enum",
           "get_card.card_id": "id", "top_up_card.card_id": "id",
           "top_up_card.amount": "amount", "buy_ticket.card_id": "id",
           "buy_ticket.from_stop": "id", "buy_ticket.to_stop": "id"},
    synonyms={"stop": ["station", "halt"], "next": ["upcoming", "following"],
              "departures": ["services", "leavings"], "plan": ["arrange", "prepare"],
              "fare": ["price", "cost"], "card": ["pass"], "after": ["since"], "route": ["line"],
              "depart": ["leave"], "rider": ["passenger", "traveller"]},
)
