"""Travel: city maps and distances, flight and train timetables, and trip bookings.

Timetables are derived on demand from the world's seed (so the world stays small and
cheap to fork); seats sold and bookings are the world's mutable state.
"""

from __future__ import annotations

import datetime as dt
import math
import re
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

# name, code, country, latitude, longitude
CITIES = [
    ("Paris", "PAR", "France", 48.8566, 2.3522),
    ("Lyon", "LYS", "France", 45.7640, 4.8357),
    ("Marseille", "MRS", "France", 43.2965, 5.3698),
    ("Berlin", "BER", "Germany", 52.5200, 13.4050),
    ("Munich", "MUC", "Germany", 48.1351, 11.5820),
    ("Hamburg", "HAM", "Germany", 53.5511, 9.9937),
    ("Madrid", "MAD", "Spain", 40.4168, -3.7038),
    ("Barcelona", "BCN", "Spain", 41.3874, 2.1686),
    ("Rome", "ROM", "Italy", 41.9028, 12.4964),
    ("Milan", "MIL", "Italy", 45.4642, 9.1900),
    ("Vienna", "VIE", "Austria", 48.2082, 16.3738),
    ("Amsterdam", "AMS", "Netherlands", 52.3676, 4.9041),
    ("Brussels", "BRU", "Belgium", 50.8503, 4.3517),
    ("Zurich", "ZRH", "Switzerland", 47.3769, 8.5417),
    ("Prague", "PRG", "Czechia", 50.0755, 14.4378),
    ("London", "LON", "United Kingdom", 51.5074, -0.1278),
]
N_CITIES = len(CITIES)
START = dt.date(2026, 7, 1)
DAYS = 14
DATES = [(START + dt.timedelta(days=d)).isoformat() for d in range(DAYS)]
KM_PER_MI = 1.609344
FLIGHT_MIN_KM = 300.0  # no flights between closer cities
TRAIN_MAX_KM = 1300.0  # no trains between farther cities
REFUND_RATE = {"flight": 0.7, "train": 0.9}
CARRIERS = {"flight": ["AF", "LH", "IB", "AZ", "KL", "BA", "OS", "LX"],
            "train": ["TGV", "ICE", "AVE", "FR", "RJ", "EC", "EST", "IC"]}
FIRST = ["Ana", "Ben", "Chloe", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
         "Kira", "Luca", "Maya", "Nils", "Olga", "Pablo", "Rosa", "Sami", "Tara", "Yusuf"]
LAST = ["Almeida", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat",
        "Ivanova", "Jansen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Peeters"]

DATE = Annotated[str, {"pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "date as YYYY-MM-DD"}]
MODE = Literal["flight", "train"]
_OPTION_ID = re.compile(r"^(FL|TR)-([A-Z]{3})-([A-Z]{3})-(\d{2})(\d{2})-(\d)$")


def _haversine(a: int, b: int) -> float:
    _, _, _, la1, lo1 = CITIES[a]
    _, _, _, la2, lo2 = CITIES[b]
    p1, p2 = math.radians(la1), math.radians(la2)
    dp, dl = p2 - p1, math.radians(lo2 - lo1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


DIST = [[_haversine(a, b) for b in range(N_CITIES)] for a in range(N_CITIES)]
ROUTES = {
    "flight": [(a, b) for a in range(N_CITIES) for b in range(N_CITIES)
               if a != b and DIST[a][b] >= FLIGHT_MIN_KM],
    "train": [(a, b) for a in range(N_CITIES) for b in range(N_CITIES)
              if a != b and DIST[a][b] <= TRAIN_MAX_KM],
}
_BY_KEY = {c[0].lower(): i for i, c in enumerate(CITIES)} | {c[1].lower(): i
                                                             for i, c in enumerate(CITIES)}
_BY_CODE = {c[1]: i for i, c in enumerate(CITIES)}


@dataclass
class TravelWorld(World):
    seed: int = 0  # timetables are a pure function of (seed, mode, route, day)
    bookings: dict[str, dict] = field(default_factory=dict)  # booking id -> booking
    seats_taken: dict[str, int] = field(default_factory=dict)  # option id -> seats sold
    next_booking: int = 50001


def _hhmm(minutes: int) -> str:
    day, rest = divmod(int(minutes), 24 * 60)
    return f"{rest // 60:02d}:{rest % 60:02d}" + (" (+1 day)" if day else "")


def _timetable(seed: int, mode: str, a: int, b: int, day: int) -> list[dict]:
    """All departures of one mode on one route and day, in generation order (no seat state)."""
    g = np.random.default_rng([seed, 0 if mode == "flight" else 1, a, b, day])
    n = 3 + int(g.integers(3))
    dist = DIST[a][b]
    if mode == "flight":
        base_min, base_price, prefix = 45 + dist / 780 * 60, 35 + dist * 0.09, "FL"
    else:
        base_min, base_price, prefix = 20 + dist / 140 * 60, 15 + dist * 0.12, "TR"
    offsets = g.permutation(60)[:n].tolist()  # distinct durations
    cents = g.permutation(100)[:n].tolist()  # distinct fares
    departs = g.permutation(60)[:n].tolist()  # distinct quarter hours from 06:00
    u = g.random((4, n)).tolist()
    carriers = CARRIERS[mode]
    date = DATES[day]
    stem = f"{prefix}-{CITIES[a][1]}-{CITIES[b][1]}-{date[5:7]}{date[8:10]}-"
    out = []
    for k in range(n):
        duration = int(base_min) + offsets[k]
        depart = (24 + departs[k]) * 15
        out.append({
            "id": f"{stem}{k}",
            "service": f"{carriers[int(u[0][k] * len(carriers))]}{100 + int(u[1][k] * 900)}",
            "depart": _hhmm(depart),
            "arrive": _hhmm(depart + duration),
            "duration_min": duration,
            "price": round(int(base_price * (0.8 + 0.9 * u[2][k])) + cents[k] / 100, 2),
            "seats": 3 + int(u[3][k] * 37),
        })
    return out


def _options(world: TravelWorld, mode: str, a: int, b: int, day: int,
             sort_by: str = "price") -> list[dict]:
    out = []
    for opt in _timetable(world.seed, mode, a, b, day):
        opt = dict(opt)
        opt["seats_left"] = opt.pop("seats") - world.seats_taken.get(opt["id"], 0)
        out.append(opt)
    key = {"price": "price", "duration": "duration_min", "departure": "depart"}[sort_by]
    return sorted(out, key=lambda o: o[key])


def _city(name: str) -> int:
    i = _BY_KEY.get(name.strip().lower())
    if i is None:
        known = ", ".join(c[0] for c in CITIES)
        raise ToolError(f"unknown city '{name[:60]}'; use a city name or code from: {known}")
    return i


def _day(date: str) -> int:
    if date not in DATES:
        raise ToolError(f"no timetable for '{date}'; timetables cover {DATES[0]} to {DATES[-1]}")
    return DATES.index(date)


def _route(mode: str, a: int, b: int) -> None:
    if a == b:
        raise ToolError("origin and destination are the same city; choose two different cities")
    if (a, b) not in ROUTES[mode]:
        other = "train" if mode == "flight" else "flight"
        why = (f"flights need at least {FLIGHT_MIN_KM:.0f} km" if mode == "flight"
               else f"trains run up to {TRAIN_MAX_KM:.0f} km")
        raise ToolError(f"no {mode} service between {CITIES[a][0]} and {CITIES[b][0]} ({why}, "
                        f"this trip is {DIST[a][b]:.0f} km); try mode='{other}'")


def _finite(value: float, name: str, low: float, high: float) -> float:
    try:
        v = float(value)
    except (OverflowError, TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and low <= v <= high):
        raise ToolError(f"{name} must be a number from {low:g} to {high:g}, got {value!r:.40}")
    return v


@tool
def nearby_cities(world: TravelWorld, city: str, radius_km: float = 500.0,
                  limit: int = 5) -> dict:
    """Cities near a city on the map, nearest first, with their straight-line distances.

    Args:
        city: City name or three-letter code, e.g. Paris or PAR.
        radius_km: Search radius in kilometres (1 to 5000).
        limit: Maximum number of cities to list (1 to 15).
    """
    a = _city(city)
    radius = _finite(radius_km, "radius_km", 1, 5000)
    n = int(_finite(limit, "limit", 1, 15))
    near = sorted((DIST[a][b], b) for b in range(N_CITIES) if b != a and DIST[a][b] <= radius)
    out = {"city": CITIES[a][0], "nearby": [
        {"name": CITIES[b][0], "code": CITIES[b][1], "country": CITIES[b][2],
         "distance_km": round(d, 1)} for d, b in near[:n]]}
    if not near:
        out["note"] = f"no cities within {radius:g} km; increase radius_km"
    return out


def _distance(a: int, b: int, unit: str) -> float:
    return round(DIST[a][b] / (KM_PER_MI if unit == "mi" else 1.0), 1)


@tool
def get_distance(world: TravelWorld, origin: str, destination: str,
                 unit: Literal["km", "mi"] = "km") -> dict:
    """Straight-line (great-circle) distance between two cities.

    Args:
        origin: City name or three-letter code.
        destination: City name or three-letter code.
        unit: km (kilometres) or mi (miles).
    """
    a, b = _city(origin), _city(destination)
    return {"origin": CITIES[a][0], "destination": CITIES[b][0],
            "distance": _distance(a, b, unit), "unit": unit}


@tool
def search_trips(world: TravelWorld, origin: str, destination: str, date: DATE,
                 mode: MODE = "flight",
                 sort_by: Literal["price", "duration", "departure"] = "price") -> dict:
    """Flights or trains from one city to another on a date, with fares in EUR and seats left.

    Args:
        origin: Departure city name or three-letter code.
        destination: Arrival city name or three-letter code.
        date: Travel date as YYYY-MM-DD.
        mode: flight or train.
        sort_by: Order of the options: price (cheapest first), duration (fastest first) or
            departure (earliest first).
    """
    a, b = _city(origin), _city(destination)
    _route(mode, a, b)
    day = _day(date)
    return {"origin": CITIES[a][0], "destination": CITIES[b][0], "date": date, "mode": mode,
            "currency": "EUR", "options": _options(world, mode, a, b, day, sort_by)}


def _find_option(world: TravelWorld, option_id: str) -> tuple[dict, str, int, int, int]:
    m = _OPTION_ID.match(option_id.strip())
    hint = "use an option id from search_trips, e.g. FL-PAR-BER-0703-2"
    if not m:
        raise ToolError(f"'{option_id[:60]}' is not an option id; {hint}")
    prefix, ca, cb, month, dd, _ = m.groups()
    mode = "flight" if prefix == "FL" else "train"
    date = f"{START.year}-{month}-{dd}"
    if ca not in _BY_CODE or cb not in _BY_CODE or date not in DATES:
        raise ToolError(f"no such option '{option_id[:60]}'; {hint}")
    a, b = _BY_CODE[ca], _BY_CODE[cb]
    if (a, b) not in ROUTES[mode]:
        raise ToolError(f"no such option '{option_id[:60]}'; {hint}")
    day = DATES.index(date)
    for opt in _options(world, mode, a, b, day):
        if opt["id"] == option_id.strip():
            return opt, mode, a, b, day
    raise ToolError(f"no such option '{option_id[:60]}'; {hint}")


def _book(world: TravelWorld, opt: dict, mode: str, a: int, b: int, day: int, passenger: str,
          seats: int) -> dict:
    if opt["seats_left"] < seats:
        raise ToolError(f"only {opt['seats_left']} seat(s) left on {opt['id']}; book fewer seats "
                        "or choose another option")
    booking_id = f"BK{world.next_booking}"
    world.next_booking += 1
    world.seats_taken[opt["id"]] = world.seats_taken.get(opt["id"], 0) + seats
    booking = {"booking_id": booking_id, "status": "confirmed", "option_id": opt["id"],
               "mode": mode, "service": opt["service"], "origin": CITIES[a][0],
               "destination": CITIES[b][0], "date": DATES[day], "depart": opt["depart"],
               "passenger": passenger, "seats": seats,
               "total_price": round(opt["price"] * seats, 2), "currency": "EUR"}
    world.bookings[booking_id] = booking
    return dict(booking)


@tool(side_effects=True)
def book_trip(world: TravelWorld, option_id: str, passenger: str, seats: int = 1) -> dict:
    """Book seats on a flight or train option found with search_trips.

    Args:
        option_id: Option id from search_trips, e.g. FL-PAR-BER-0703-2.
        passenger: Full name the booking is made under.
        seats: Number of seats (1 to 9).
    """
    n = int(_finite(seats, "seats", 1, 9))
    name = " ".join(passenger.split())
    if not name:
        raise ToolError("passenger is empty; give the traveller's full name")
    return _book(world, *_find_option(world, option_id), name[:80], n)


def _booking(world: TravelWorld, booking_id: str) -> dict:
    return lookup_id(world.bookings, booking_id, "no booking '{id}'; booking ids look like BK12345")


@tool
def get_booking(world: TravelWorld, booking_id: str) -> dict:
    """Details of a booking: route, date, service, passenger, seats, price and status.

    Args:
        booking_id: Booking reference, e.g. BK12345.
    """
    return dict(_booking(world, booking_id))


@tool(side_effects=True)
def cancel_booking(world: TravelWorld, booking_id: str) -> dict:
    """Cancel a booking and release its seats. Refunds 70% of the fare for flights and 90%
    for trains.

    Args:
        booking_id: Booking reference, e.g. BK12345.
    """
    bk = _booking(world, booking_id)
    if bk["status"] == "cancelled":
        raise ToolError(f"booking {bk['booking_id']} is already cancelled")
    bk["status"] = "cancelled"
    world.seats_taken[bk["option_id"]] = world.seats_taken.get(bk["option_id"], 0) - bk["seats"]
    refund = round(bk["total_price"] * REFUND_RATE[bk["mode"]], 2)
    return {"booking_id": bk["booking_id"], "status": "cancelled", "refund": refund,
            "currency": "EUR"}


TOOLS = [nearby_cities, get_distance, search_trips, book_trip, get_booking, cancel_booking]


def _name(rng: np.random.Generator) -> str:
    return f"{FIRST[int(rng.integers(len(FIRST)))]} {LAST[int(rng.integers(len(LAST)))]}"


def make_world(rng: np.random.Generator) -> TravelWorld:
    w = TravelWorld(seed=int(rng.integers(1 << 31)))
    ids = rng.choice(9000, 3, replace=False) + 10000
    for bid in ids:
        mode = "flight" if rng.random() < 0.5 else "train"
        a, b = ROUTES[mode][int(rng.integers(len(ROUTES[mode])))]
        day = int(rng.integers(DAYS))
        opts = _timetable(w.seed, mode, a, b, day)
        opt = dict(opts[int(rng.integers(len(opts)))])
        opt["seats_left"] = opt["seats"] - w.seats_taken.get(opt["id"], 0)
        w.next_booking, saved = int(bid), w.next_booking
        _book(w, opt, mode, a, b, day, _name(rng), int(rng.integers(1, 3)))
        w.next_booking = saved
    return w


def _pick_route(rng: np.random.Generator, mode: str) -> tuple[int, int]:
    return ROUTES[mode][int(rng.integers(len(ROUTES[mode])))]


def make_task(rng: np.random.Generator, world: TravelWorld, seed: int) -> Task:
    kind = int(rng.integers(6))
    mode = "flight" if rng.random() < 0.5 else "train"
    day = int(rng.integers(DAYS))
    date = DATES[day]
    a, b = _pick_route(rng, mode)
    A, B = CITIES[a][0], CITIES[b][0]
    if kind == 0:
        unit = "mi" if rng.random() < 0.5 else "km"
        words = "miles" if unit == "mi" else "kilometres"
        dist = _distance(a, b, unit)
        return Task("", "travel", f"What is the straight-line distance between {A} and {B} in "
                    f"{words}? Round to one decimal.",
                    [Step("get_distance", {"origin": A, "destination": B, "unit": unit})],
                    Ref(0, "distance"), answer_is(dist))
    if kind == 1:
        fastest = rng.random() < 0.5
        sort_by = "duration" if fastest else "price"
        best = _options(world, mode, a, b, day, sort_by)[0]
        plan = [Step("search_trips", {"origin": A, "destination": B, "date": date, "mode": mode,
                                      "sort_by": sort_by})]
        if fastest:
            return Task("", "travel", f"How many minutes does the fastest {mode} from {A} to {B} "
                        f"on {date} take?", plan, Ref(0, "options.0.duration_min"),
                        answer_is(best["duration_min"]))
        return Task("", "travel", f"What is the cheapest {mode} fare in euros from {A} to {B} on "
                    f"{date}?", plan, Ref(0, "options.0.price"), answer_is(best["price"]))
    if kind == 2:
        fastest = rng.random() < 0.5
        sort_by = "duration" if fastest else "price"
        best = _options(world, mode, a, b, day, sort_by)[0]
        seats = 2 if best["seats_left"] >= 2 and rng.random() < 0.5 else 1
        name = _name(rng)
        total = round(best["price"] * seats, 2)
        target = best["id"]

        def booked(w: TravelWorld) -> bool:
            return any(bk["option_id"] == target and bk["passenger"].lower() == name.lower()
                       and bk["seats"] == seats and bk["status"] == "confirmed"
                       for bk in w.bookings.values())

        who = "one seat" if seats == 1 else "two seats"
        which = "fastest" if fastest else "cheapest"
        return Task("", "travel", f"Book {who} on the {which} {mode} from {A} to {B} on {date} "
                    f"under the name {name}, then tell me the total price in euros.",
                    [Step("search_trips", {"origin": A, "destination": B, "date": date,
                                           "mode": mode, "sort_by": sort_by}),
                     Step("book_trip", {"option_id": Ref(0, "options.0.id"), "passenger": name,
                                        "seats": seats})],
                    Ref(1, "total_price"), all_of(world_has(booked), answer_is(total)))
    if kind == 3:
        near = min((DIST[a][c], c) for c in range(N_CITIES) if c != a)[1]
        dests = [c for (x, c) in ROUTES[mode] if x == near and c != a]
        b = dests[int(rng.integers(len(dests)))]
        B = CITIES[b][0]
        best = _options(world, mode, near, b, day)[0]
        return Task("", "travel", f"I'm in {A}. Find the closest other city to {A} on the map, "
                    f"then tell me the cheapest {mode} fare in euros from that city to {B} on "
                    f"{date}.",
                    [Step("nearby_cities", {"city": A, "radius_km": 1000.0, "limit": 5}),
                     Step("search_trips", {"origin": Ref(0, "nearby.0.name"), "destination": B,
                                           "date": date, "mode": mode, "sort_by": "price"})],
                    Ref(1, "options.0.price"), answer_is(best["price"]))
    bid = sorted(world.bookings)[int(rng.integers(len(world.bookings)))]
    bk = world.bookings[bid]
    if kind == 4:
        a, b, day = _city(bk["origin"]), _city(bk["destination"]), DATES.index(bk["date"])
        other = "train" if bk["mode"] == "flight" else "flight"
        args = {"origin": Ref(0, "origin"), "destination": Ref(0, "destination"),
                "date": Ref(0, "date")}
        if (a, b) in ROUTES[other]:
            best = _options(world, other, a, b, day)[0]
            return Task("", "travel", f"I have booking {bid}. What is the cheapest {other} fare "
                        "in euros on the same route and date?",
                        [Step("get_booking", {"booking_id": bid}),
                         Step("search_trips", {**args, "mode": other, "sort_by": "price"})],
                        Ref(1, "options.0.price"), answer_is(best["price"]))
        best = _options(world, bk["mode"], a, b, day, "duration")[0]
        return Task("", "travel", f"I have booking {bid}. How many minutes does the fastest "
                    f"{bk['mode']} on the same route and date take?",
                    [Step("get_booking", {"booking_id": bid}),
                     Step("search_trips", {**args, "mode": bk["mode"], "sort_by": "duration"})],
                    Ref(1, "options.0.duration_min"), answer_is(best["duration_min"]))
    refund = round(bk["total_price"] * REFUND_RATE[bk["mode"]], 2)

    def cancelled(w: TravelWorld) -> bool:
        return w.bookings[bid]["status"] == "cancelled"

    return Task("", "travel", f"Please cancel booking {bid} and tell me how much is refunded in "
                "euros.", [Step("cancel_booking", {"booking_id": bid})], Ref(0, "refund"),
                all_of(world_has(cancelled), answer_is(refund)))


DOMAIN = Domain(
    name="travel",
    title="Travel",
    description="City maps and distances, flight and train search, and trip booking.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="seen",
    hints={"nearby_cities.radius_km": "unit:km", "get_distance.unit": "enum",
           "search_trips.date": "date", "search_trips.mode": "enum",
           "search_trips.sort_by": "enum", "book_trip.option_id": "id",
           "get_booking.booking_id": "id", "cancel_booking.booking_id": "id"},
)
