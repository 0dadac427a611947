"""Currency: exchange rates (today's and historical), conversion, and a wallet exchange.

Rates follow a seeded random walk per currency against the US dollar over a month; the
last day is "today". The wallet is the mutable state: exchanges move money between
balances at today's rate minus the wallet's fee.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Annotated, Literal

import numpy as np

from tool_gym import Domain, Ref, Step, Task, ToolError, World, all_of, answer_is, tool, world_has

NAMES = {
    "USD": "US dollar", "EUR": "euro", "GBP": "pound sterling", "JPY": "Japanese yen",
    "CHF": "Swiss franc", "CAD": "Canadian dollar", "AUD": "Australian dollar",
    "CNY": "Chinese yuan", "INR": "Indian rupee", "MXN": "Mexican peso", "SEK": "Swedish krona",
    "BRL": "Brazilian real",
}
CODES = list(NAMES)
# Typical units per US dollar; each world starts near these and drifts day by day.
PER_USD = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.0, "CHF": 0.88, "CAD": 1.36,
           "AUD": 1.52, "CNY": 7.2, "INR": 83.3, "MXN": 17.1, "SEK": 10.5, "BRL": 5.0}
START = dt.date(2026, 4, 1)
DAYS = 30
DATES = [(START + dt.timedelta(days=d)).isoformat() for d in range(DAYS)]
TODAY = DATES[-1]
MAX_AMOUNT = 1e12

CURRENCY = Literal["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "CNY", "INR", "MXN", "SEK",
                   "BRL"]
DATE = Annotated[str, {"pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "date as YYYY-MM-DD"}]
# Optional date: empty means today. (Annotated with a dict cannot sit in a Union.)
DAY = Annotated[str, {"pattern": r"^(\d{4}-\d{2}-\d{2})?$",
                      "description": "date as YYYY-MM-DD, or empty for today"}]


@dataclass
class CurrencyWorld(World):
    per_usd: dict[str, list[float]] = field(default_factory=dict)  # code -> one rate per day
    wallet: dict[str, float] = field(default_factory=dict)  # code -> balance
    fee_percent: float = 1.0
    transactions: list[dict] = field(default_factory=list)


def make_world(rng: np.random.Generator) -> CurrencyWorld:
    steps = rng.normal(0.0, 0.006, (len(CODES) - 1, DAYS))
    steps[:, 0] = rng.normal(0.0, 0.04, len(CODES) - 1)  # this world's starting level
    levels = np.exp(np.cumsum(steps, axis=1))
    w = CurrencyWorld(per_usd={"USD": [1.0] * DAYS})
    for i, code in enumerate(CODES[1:]):
        w.per_usd[code] = np.round(levels[i] * PER_USD[code], 6).tolist()
    held = rng.permutation(len(CODES))[: 3 + int(rng.integers(3))].tolist()
    usd = rng.uniform(150, 6000, len(held)).tolist()
    for k, i in enumerate(held):
        code = CODES[i]
        w.wallet[code] = round(usd[k] * PER_USD[code], 2)
    w.fee_percent = round(float(rng.uniform(0.4, 1.6)), 2)
    return w


def _sig(x: float) -> float:
    return float(f"{x:.6g}")


def _day(date: str) -> int:
    if date == "":
        return DAYS - 1
    if date not in DATES:
        raise ToolError(f"no rates for '{date[:40]}'; rates cover {DATES[0]} to {TODAY} "
                        "(omit the date for today's rate)")
    return DATES.index(date)


def _rate(world: CurrencyWorld, base: str, quote: str, day: int) -> float:
    return _sig(world.per_usd[quote][day] / world.per_usd[base][day])


def _amount(amount: float) -> float:
    try:
        v = float(amount)
    except (OverflowError, TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and 0 < v <= MAX_AMOUNT):
        raise ToolError(f"amount must be a positive number up to {MAX_AMOUNT:g}, got "
                        f"{amount!r:.40}")
    return v


@tool
def list_currencies(world: CurrencyWorld) -> dict:
    """The supported currency codes with their names, and the dates rates are available for."""
    return {"currencies": [{"code": c, "name": n} for c, n in NAMES.items()],
            "rates_from": DATES[0], "rates_to": TODAY}


@tool
def get_rate(world: CurrencyWorld, base: CURRENCY, quote: CURRENCY,
             date: DAY = "") -> dict:
    """Exchange rate: how many units of the quote currency one unit of the base currency buys.

    Args:
        base: Currency code to convert from, e.g. EUR.
        quote: Currency code to convert to, e.g. USD.
        date: Day of the rate as YYYY-MM-DD; omit (or leave empty) for today's rate.
    """
    day = _day(date)
    return {"base": base, "quote": quote, "date": DATES[day],
            "rate": _rate(world, base, quote, day)}


def _convert(world: CurrencyWorld, amount: float, src: str, dst: str, day: int) -> float:
    return round(amount * _rate(world, src, dst, day), 2)


@tool
def convert(world: CurrencyWorld, amount: float, from_currency: CURRENCY, to_currency: CURRENCY,
            date: DAY = "") -> dict:
    """Convert an amount between currencies at the market rate of a day (no fees).

    Args:
        amount: Amount of money in from_currency, e.g. 250.
        from_currency: Currency code of the amount.
        to_currency: Currency code to convert into.
        date: Day whose rate is used, as YYYY-MM-DD; omit (or leave empty) for today's rate.
    """
    v = _amount(amount)
    day = _day(date)
    return {"amount": v, "from": from_currency, "to": to_currency, "date": DATES[day],
            "rate": _rate(world, from_currency, to_currency, day),
            "converted": _convert(world, v, from_currency, to_currency, day)}


def _history(world: CurrencyWorld, base: str, quote: str, s: int, e: int) -> dict:
    rates = [_rate(world, base, quote, d) for d in range(s, e + 1)]
    lo = min(range(len(rates)), key=rates.__getitem__)
    hi = max(range(len(rates)), key=rates.__getitem__)
    return {"base": base, "quote": quote, "start_date": DATES[s], "end_date": DATES[e],
            "days": len(rates), "first_rate": rates[0], "last_rate": rates[-1],
            "min_rate": rates[lo], "min_date": DATES[s + lo],
            "max_rate": rates[hi], "max_date": DATES[s + hi],
            "average_rate": _sig(sum(rates) / len(rates)),
            "change_percent": round((rates[-1] / rates[0] - 1) * 100, 2)}


@tool
def rate_history(world: CurrencyWorld, base: CURRENCY, quote: CURRENCY, start_date: DATE,
                 end_date: DATE) -> dict:
    """Summary of a rate over a date range: first, last, lowest and highest (with their dates),
    average and percent change.

    Args:
        base: Currency code to convert from.
        quote: Currency code to convert to.
        start_date: First day of the range, YYYY-MM-DD.
        end_date: Last day of the range (inclusive), YYYY-MM-DD.
    """
    s, e = _day(start_date), _day(end_date)
    if s > e:
        raise ToolError(f"start_date {start_date} is after end_date {end_date}; swap them")
    return _history(world, base, quote, s, e)


@tool
def get_wallet(world: CurrencyWorld) -> dict:
    """The wallet's balance in each currency it holds and its exchange fee."""
    return {"balances": dict(world.wallet), "fee_percent": world.fee_percent}


def _received(world: CurrencyWorld, amount: float, src: str, dst: str) -> float:
    return round(amount * _rate(world, src, dst, DAYS - 1) * (1 - world.fee_percent / 100), 2)


@tool(side_effects=True)
def exchange(world: CurrencyWorld, from_currency: CURRENCY, to_currency: CURRENCY,
             amount: float) -> dict:
    """Exchange money inside the wallet at today's rate, minus the wallet's fee.

    Args:
        from_currency: Currency code to sell; the wallet must hold enough of it.
        to_currency: Currency code to buy.
        amount: Amount of from_currency to sell.
    """
    v = round(_amount(amount), 2)
    if v < 0.01:
        raise ToolError("amount rounds to less than 0.01; exchange at least 0.01")
    if from_currency == to_currency:
        raise ToolError("from_currency and to_currency are the same; choose two currencies")
    have = world.wallet.get(from_currency, 0.0)
    if v > have + 1e-9:
        raise ToolError(f"insufficient {from_currency}: balance {have:.2f}, requested {v:.2f}; "
                        "call get_wallet and exchange at most the balance")
    received = _received(world, v, from_currency, to_currency)
    world.wallet[from_currency] = round(have - v, 2)
    world.wallet[to_currency] = round(world.wallet.get(to_currency, 0.0) + received, 2)
    tx = {"transaction_id": f"TX{len(world.transactions) + 1:04d}", "sold": v,
          "from": from_currency, "received": received, "to": to_currency,
          "rate": _rate(world, from_currency, to_currency, DAYS - 1),
          "fee_percent": world.fee_percent}
    world.transactions.append(tx)
    return {**tx, "balances": dict(world.wallet)}


TOOLS = [list_currencies, get_rate, convert, rate_history, get_wallet, exchange]


def _pair(rng: np.random.Generator) -> tuple[str, str]:
    i, j = rng.permutation(len(CODES))[:2].tolist()
    return CODES[i], CODES[j]


def _nice_amount(rng: np.random.Generator, code: str) -> float:
    """A round-ish amount worth roughly 20 to 5000 US dollars."""
    usd = float(rng.uniform(20, 5000))
    raw = usd * PER_USD[code]
    step = 10 ** max(0, int(math.log10(raw)) - 1)
    return float(round(raw / step) * step) if rng.random() < 0.5 else round(raw, 2)


def _words(x: float) -> str:
    return f"{x:,.2f}".rstrip("0").rstrip(".")


def make_task(rng: np.random.Generator, world: CurrencyWorld, seed: int) -> Task:
    kind = [0, 1, 2, 2, 3, 3, 4, 4, 5, 6][int(rng.integers(10))]
    src, dst = _pair(rng)
    if kind == 0:
        amt = _nice_amount(rng, src)
        out = _convert(world, amt, src, dst, DAYS - 1)
        return Task("", "currency", f"How much is {_words(amt)} {src} in {dst} at today's "
                    "market rate?",
                    [Step("convert", {"amount": amt, "from_currency": src, "to_currency": dst})],
                    Ref(0, "converted"), answer_is(out))
    if kind == 1:
        day = int(rng.integers(DAYS - 1))
        if _rate(world, src, dst, day) < 1:
            src, dst = dst, src
        rate = _rate(world, src, dst, day)
        return Task("", "currency", f"What was the {src} to {dst} exchange rate (units of {dst} "
                    f"per 1 {src}) on {DATES[day]}?",
                    [Step("get_rate", {"base": src, "quote": dst, "date": DATES[day]})],
                    Ref(0, "rate"), answer_is(rate))
    if kind in (2, 6):
        s = int(rng.integers(DAYS - 6))
        e = s + 4 + int(rng.integers(DAYS - s - 4))
        hist = _history(world, src, dst, s, e)
        peak = rng.random() < 0.5
        which, key = ("highest", "max_date") if peak else ("lowest", "min_date")
        plan = [Step("rate_history", {"base": src, "quote": dst, "start_date": DATES[s],
                                      "end_date": DATES[e]})]
        if kind == 6:
            return Task("", "currency", f"Between {DATES[s]} and {DATES[e]}, on which date was "
                        f"the {src} to {dst} rate at its {which}? Answer with the date "
                        "(YYYY-MM-DD).", plan, Ref(0, key), answer_is(hist[key]))
        amt = _nice_amount(rng, src)
        out = _convert(world, amt, src, dst, DATES.index(hist[key]))
        return Task("", "currency", f"Between {DATES[s]} and {DATES[e]}, on the day the {src} to "
                    f"{dst} rate was at its {which}, how much {dst} would {_words(amt)} {src} "
                    "have converted to at that day's market rate?",
                    plan + [Step("convert", {"amount": amt, "from_currency": src,
                                             "to_currency": dst, "date": Ref(0, key)})],
                    Ref(1, "converted"), answer_is(out))
    held = list(world.wallet)
    src = held[int(rng.integers(len(held)))]
    others = [c for c in CODES if c != src]
    dst = others[int(rng.integers(len(others)))]
    have = world.wallet[src]
    if kind == 4:
        out = _convert(world, have, src, dst, DAYS - 1)
        return Task("", "currency", f"What is my whole {src} wallet balance worth in {dst} at "
                    "today's market rate?",
                    [Step("get_wallet", {}),
                     Step("convert", {"amount": Ref(0, f"balances.{src}"), "from_currency": src,
                                      "to_currency": dst})],
                    Ref(1, "converted"), answer_is(out))
    if kind == 3:
        amt = have
        plan = [Step("get_wallet", {})]
        query = f"Exchange my entire {src} balance into {dst}"
        arg: float | Ref = Ref(0, f"balances.{src}")
    else:
        amt = float(max(1, int(have * float(rng.uniform(0.2, 0.8)))))
        plan = []
        query = f"Exchange {_words(amt)} {src} from my wallet into {dst}"
        arg = amt
    received = _received(world, amt, src, dst)
    want_src = round(have - amt, 2)
    want_dst = round(world.wallet.get(dst, 0.0) + received, 2)

    def exchanged(w: CurrencyWorld) -> bool:
        return (abs(w.wallet.get(src, 0.0) - want_src) <= 0.02
                and abs(w.wallet.get(dst, 0.0) - want_dst) <= 0.05)

    plan.append(Step("exchange", {"from_currency": src, "to_currency": dst, "amount": arg}))
    return Task("", "currency", f"{query}, and tell me how much {dst} I received.", plan,
                Ref(len(plan) - 1, "received"), all_of(world_has(exchanged), answer_is(received)))


DOMAIN = Domain(
    name="currency",
    title="Currency",
    description="Exchange rates today and by date, conversion, rate history and a wallet.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="seen",
    hints={"get_rate.base": "currency", "get_rate.quote": "currency", "get_rate.date": "date",
           "convert.amount": "amount", "convert.from_currency": "currency",
           "convert.to_currency": "currency", "convert.date": "date",
           "rate_history.base": "currency", "rate_history.quote": "currency",
           "rate_history.start_date": "date", "rate_history.end_date": "date",
           "exchange.from_currency": "currency", "exchange.to_currency": "currency",
           "exchange.amount": "amount"},
)
