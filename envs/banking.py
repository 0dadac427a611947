"""Banking: accounts, transaction history, spending summaries, transfers and bill payments."""

from __future__ import annotations

import datetime as dt
import math
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
    answer_in_all,
    answer_is,
    lookup_id,
    tool,
    world_has,
)
from tool_gym.task import normalize

CURRENCIES = ["USD", "EUR", "GBP"]
CURRENCY = Literal["USD", "EUR", "GBP"]
ACCOUNT_SLOTS = [  # (type, name choices, balance range in whole units)
    ("checking", ["Everyday Checking", "Main Checking", "Daily Spending"], (800, 6000)),
    ("savings", ["Rainy Day Savings", "Emergency Fund", "Safety Net Savings"], (2000, 20000)),
    ("savings", ["Travel Fund", "Holiday Savings", "House Deposit Fund", "Car Fund"], (500, 9000)),
    ("checking", ["Joint Checking", "Bills Account", "Side Business Checking"], (800, 5000)),
]
MERCHANTS = {
    "groceries": ["FreshMart", "Green Grocer", "Corner Market"],
    "dining": ["Pasta Palace", "Sushi Go", "Burger Barn", "Cafe Luna"],
    "transport": ["Metro Transit", "CityCab", "FuelStop"],
    "entertainment": ["CinemaMax", "StreamFlix", "Game Haven"],
    "shopping": ["ShopRight", "Book Nook", "Gadget Hub"],
}
CATEGORIES = list(MERCHANTS)
CATEGORY = Literal["any", "groceries", "dining", "transport", "entertainment", "shopping", "income",
                   "transfer", "bills", "interest"]
BILLERS = [("City Power", 40, 180), ("AquaFlow Water", 20, 90), ("Metro Internet", 30, 80),
           ("Northside Insurance", 60, 250), ("Bright Mobile", 15, 70),
           ("Greenview Rent", 900, 1600)]
HISTORY_START = dt.date(2026, 3, 1)
TODAY = dt.date(2026, 6, 15)
HISTORY_DAYS = (TODAY - HISTORY_START).days
MONTHS = {3: "March", 4: "April", 5: "May"}
N_TX = 22
MAX_LIST = 25
DATE = Annotated[str, {"pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "date as YYYY-MM-DD"}]


@dataclass
class BankingWorld(World):
    currency: str = "USD"
    accounts: dict[str, dict] = field(default_factory=dict)  # account_id -> account (cents)
    transactions: dict[str, list[dict]] = field(default_factory=dict)  # account_id -> oldest first
    bills: dict[str, dict] = field(default_factory=dict)  # bill_id -> bill (cents)
    next_id: int = 1


def _money(cents: int) -> float:
    return round(cents / 100, 2)


def make_world(rng: np.random.Generator) -> BankingWorld:
    w = BankingWorld(currency=CURRENCIES[int(rng.integers(len(CURRENCIES)))])
    n_acc = 3 + int(rng.integers(2))
    ids = rng.choice(9000, size=n_acc, replace=False) + 1000
    last4 = rng.choice(10000, size=n_acc, replace=False)
    picks = rng.integers(0, 12, size=n_acc)
    fracs = rng.random(size=n_acc)
    days = np.sort(rng.integers(0, HISTORY_DAYS, size=(n_acc, N_TX)), axis=1)
    cats = rng.integers(0, len(CATEGORIES), size=(n_acc, N_TX))
    merch = rng.integers(0, 12, size=(n_acc, N_TX))
    cents = rng.integers(300, 12000, size=(n_acc, N_TX))
    tid = 1
    for a in range(n_acc):
        kind, names, (lo, hi) = ACCOUNT_SLOTS[a]
        aid = f"ACC-{int(ids[a])}"
        w.accounts[aid] = {"account_id": aid, "name": names[int(picks[a]) % len(names)],
                           "number": f"****{int(last4[a]):04d}", "type": kind,
                           "balance": int((lo + fracs[a] * (hi - lo)) * 100)}
        txs = []
        for k in range(N_TX):
            date = (HISTORY_START + dt.timedelta(days=int(days[a, k]))).isoformat()
            if kind == "savings":
                if k % 4:
                    continue
                tx = {"description": "Interest", "category": "interest", "type": "credit",
                      "amount": int(cents[a, k]) // 20}
            elif k % 8 == 0:
                tx = {"description": "Acme Payroll", "category": "income", "type": "credit",
                      "amount": 150000 + int(cents[a, k]) * 10}
            else:
                cat = CATEGORIES[int(cats[a, k])]
                tx = {"description": MERCHANTS[cat][int(merch[a, k]) % len(MERCHANTS[cat])],
                      "category": cat, "type": "debit", "amount": int(cents[a, k])}
            txs.append({"transaction_id": f"T{tid}", "date": date, **tx})
            tid += 1
        w.transactions[aid] = txs
    billers = rng.choice(len(BILLERS), size=4, replace=False)
    bill_ids = rng.choice(900, size=4, replace=False) + 100
    due = rng.choice(25, size=4, replace=False) + 1
    fr = rng.random(size=4)
    paid = int(rng.integers(4))
    for b in range(4):
        payee, lo, hi = BILLERS[int(billers[b])]
        bid = f"BILL-{int(bill_ids[b])}"
        w.bills[bid] = {"bill_id": bid, "payee": payee,
                        "amount": int((lo + fr[b] * (hi - lo)) * 100),
                        "due_date": (TODAY + dt.timedelta(days=int(due[b]))).isoformat(),
                        "status": "paid" if b == paid else "unpaid"}
    w.next_id = tid
    return w


def _account(world: BankingWorld, account_id: str) -> dict:
    return lookup_id(world.accounts, account_id,
                     "unknown account '{id}'; call list_accounts to see account ids")


def _cents(amount: float) -> int:
    if not math.isfinite(amount) or amount <= 0:
        raise ToolError(f"amount must be a positive number, got {amount}")
    if amount > 1_000_000:
        raise ToolError(f"amount {amount} is over the 1,000,000 limit per transfer")
    cents = round(amount * 100)
    if abs(amount * 100 - cents) > 1e-6:
        raise ToolError(f"amount {amount} has more than two decimal places")
    return cents


def _date(date: str) -> str:
    try:
        return dt.date.fromisoformat(date.strip()).isoformat()
    except ValueError:
        raise ToolError(f"'{date}' is not a valid date; use YYYY-MM-DD, e.g. 2026-05-01") from None


def _tx_view(tx: dict) -> dict:
    return {**tx, "amount": _money(tx["amount"])}


def _record(world: BankingWorld, aid: str, desc: str, cat: str, kind: str, cents: int) -> str:
    tid = f"T{world.next_id}"
    world.next_id += 1
    world.transactions.setdefault(aid, []).append(
        {"transaction_id": tid, "date": TODAY.isoformat(), "description": desc, "category": cat,
         "type": kind, "amount": cents})
    return tid


@tool
def list_accounts(world: BankingWorld) -> list[dict]:
    """List the user's accounts with ids, masked account numbers, types and balances."""
    return [{**a, "balance": _money(a["balance"]), "currency": world.currency}
            for a in world.accounts.values()]


@tool
def get_transactions(
    world: BankingWorld,
    account_id: str,
    category: CATEGORY = "any",
    merchant: str = "",
    limit: int = 10,
) -> dict:
    """Recent transactions of an account, newest first, optionally filtered.

    Args:
        account_id: Account id from list_accounts, e.g. ACC-1234.
        category: Only this category, or any.
        merchant: Only transactions whose description contains this text; empty for all.
        limit: How many transactions to return (1 to 25).
    """
    acc = _account(world, account_id)
    if not 1 <= limit <= MAX_LIST:
        raise ToolError(f"limit must be between 1 and {MAX_LIST}, got {limit}")
    q = " ".join(merchant.lower().split())
    txs = [t for t in world.transactions.get(acc["account_id"], [])
           if category in ("any", t["category"]) and q in t["description"].lower()]
    newest = sorted(txs, key=lambda t: (t["date"], int(t["transaction_id"][1:])), reverse=True)
    return {"account_id": acc["account_id"], "currency": world.currency, "count": len(txs),
            "transactions": [_tx_view(t) for t in newest[:limit]]}


@tool
def get_spending_summary(
    world: BankingWorld, account_id: str, start_date: DATE, end_date: DATE
) -> dict:
    """Total spending (debits other than transfers) of an account between two dates, by category.

    Args:
        account_id: Account id from list_accounts, e.g. ACC-1234.
        start_date: First day included, as YYYY-MM-DD.
        end_date: Last day included, as YYYY-MM-DD.
    """
    acc = _account(world, account_id)
    start, end = _date(start_date), _date(end_date)
    if start > end:
        raise ToolError(f"start_date {start} is after end_date {end}; swap them")
    by_cat: dict[str, int] = {}
    for t in world.transactions.get(acc["account_id"], []):
        if t["type"] == "debit" and t["category"] != "transfer" and start <= t["date"] <= end:
            by_cat[t["category"]] = by_cat.get(t["category"], 0) + t["amount"]
    return {"account_id": acc["account_id"], "start_date": start, "end_date": end,
            "currency": world.currency, "total_spent": _money(sum(by_cat.values())),
            "by_category": {c: _money(v) for c, v in sorted(by_cat.items())}}


@tool(side_effects=True)
def transfer_money(
    world: BankingWorld,
    from_account_id: str,
    to_account_id: str,
    amount: float,
    currency: CURRENCY,
    memo: str = "",
) -> dict:
    """Move money between two of the user's accounts.

    Args:
        from_account_id: Account id to take the money from, e.g. ACC-1234.
        to_account_id: Account id to put the money into.
        amount: Positive amount with at most two decimals, in the accounts' currency.
        currency: Currency of the amount; must be the accounts' currency.
        memo: Optional note (at most 100 characters).
    """
    src, dst = _account(world, from_account_id), _account(world, to_account_id)
    if src is dst:
        raise ToolError("from_account_id and to_account_id are the same account; pick two "
                        "different accounts")
    if currency != world.currency:
        raise ToolError(f"the accounts hold {world.currency}, not {currency}; give the amount "
                        f"in {world.currency}")
    cents = _cents(amount)
    if cents > src["balance"]:
        raise ToolError(f"insufficient funds: balance {_money(src['balance']):.2f}, amount "
                        f"{_money(cents):.2f}")
    if len(memo) > 100:
        raise ToolError("memo must be at most 100 characters")
    src["balance"] -= cents
    dst["balance"] += cents
    note = memo.strip() or "Transfer"
    _record(world, src["account_id"], f"{note} to {dst['name']}", "transfer", "debit", cents)
    tid = _record(world, dst["account_id"], f"{note} from {src['name']}", "transfer", "credit",
                  cents)
    return {"status": "completed", "transaction_id": tid, "amount": _money(cents),
            "currency": world.currency, "from_balance": _money(src["balance"]),
            "to_balance": _money(dst["balance"])}


@tool
def list_bills(world: BankingWorld, status: Literal["unpaid", "paid", "all"] = "unpaid") -> list:
    """List bills with payee, amount and due date, soonest due first.

    Args:
        status: unpaid, paid or all.
    """
    bills = [b for b in world.bills.values() if status in ("all", b["status"])]
    return [{**b, "amount": _money(b["amount"]), "currency": world.currency}
            for b in sorted(bills, key=lambda b: (b["due_date"], b["bill_id"]))]


@tool(side_effects=True)
def pay_bill(world: BankingWorld, bill_id: str, from_account_id: str) -> dict:
    """Pay a bill in full from one of the user's accounts.

    Args:
        bill_id: Bill id from list_bills, e.g. BILL-123.
        from_account_id: Account id to pay from, e.g. ACC-1234.
    """
    bill = lookup_id(world.bills, bill_id, "unknown bill '{id}'; call list_bills to see bill ids")
    acc = _account(world, from_account_id)
    if bill["status"] == "paid":
        raise ToolError(f"bill {bill['bill_id']} ({bill['payee']}) is already paid")
    if bill["amount"] > acc["balance"]:
        raise ToolError(f"insufficient funds: balance {_money(acc['balance']):.2f}, amount "
                        f"{_money(bill['amount']):.2f}; pay from another account or transfer "
                        "money first")
    acc["balance"] -= bill["amount"]
    bill["status"] = "paid"
    bill["paid_from"] = acc["account_id"]
    tid = _record(world, acc["account_id"], bill["payee"], "bills", "debit", bill["amount"])
    return {"status": "paid", "bill_id": bill["bill_id"], "payee": bill["payee"],
            "amount": _money(bill["amount"]), "currency": world.currency,
            "transaction_id": tid, "new_balance": _money(acc["balance"])}


TOOLS = [list_accounts, get_transactions, get_spending_summary, transfer_money, list_bills,
         pay_bill]


def _balances_are(expected: dict[str, int]) -> object:
    def pred(w: BankingWorld) -> bool:
        return all(w.accounts[a]["balance"] == c for a, c in expected.items())

    return pred


def _called(acc: dict) -> str:
    return f"{acc['name']} account (ending in {acc['number'][-4:]})"


def make_task(rng: np.random.Generator, world: BankingWorld, seed: int) -> Task:
    kind = int(rng.integers(7))
    cur = world.currency
    accounts = list_accounts.fn(world)
    i = int(rng.integers(len(accounts)))
    acc = accounts[i]
    find = Step("list_accounts", {})
    if kind == 0:
        return Task("", "banking", f"What is the current balance of my {_called(acc)}?",
                    [find], Ref(0, f"{i}.balance"), answer_is(acc["balance"]))
    if kind == 1:
        j = (i + 1 + int(rng.integers(len(accounts) - 1))) % len(accounts)
        dst = accounts[j]
        whole = int(rng.integers(10, max(11, min(int(acc["balance"]), 3000))))
        cents = whole * 100 + (int(rng.integers(100)) if rng.random() < 0.5 else 0)
        amount = _money(cents)
        src_c = world.accounts[acc["account_id"]]["balance"]
        dst_c = world.accounts[dst["account_id"]]["balance"]
        want = {acc["account_id"]: src_c - cents, dst["account_id"]: dst_c + cents}
        return Task("", "banking", f"Transfer {amount:.2f} {cur} from my {_called(acc)} to "
                    f"my {_called(dst)}, then say done.",
                    [find, Step("transfer_money", {"from_account_id": Ref(0, f"{i}.account_id"),
                                                   "to_account_id": Ref(0, f"{j}.account_id"),
                                                   "amount": amount, "currency": cur})],
                    "done", world_has(_balances_are(want)))
    unpaid = list_bills.fn(world, "unpaid")
    if kind == 2:
        k = int(rng.integers(len(unpaid)))
        bill = unpaid[k]
        able = [n for n, a in enumerate(accounts) if a["balance"] >= bill["amount"]]
        i = able[int(rng.integers(len(able)))]
        acc = accounts[i]
        bid, aid = bill["bill_id"], acc["account_id"]
        left = world.accounts[aid]["balance"] - world.bills[bid]["amount"]

        def paid(w: BankingWorld) -> bool:
            b = w.bills[bid]
            return (b["status"] == "paid" and b.get("paid_from") == aid
                    and w.accounts[aid]["balance"] == left)

        return Task("", "banking", f"Pay my {bill['payee']} bill from my {_called(acc)}, "
                    "then say done.",
                    [Step("list_bills", {}), find,
                     Step("pay_bill", {"bill_id": Ref(0, f"{k}.bill_id"),
                                       "from_account_id": Ref(1, f"{i}.account_id")})],
                    "done", world_has(paid))
    spenders = [n for n, a in enumerate(accounts) if a["type"] == "checking"]
    i = spenders[int(rng.integers(len(spenders)))]
    acc = accounts[i]
    aid = acc["account_id"]
    if kind == 3:
        month = 3 + int(rng.integers(3))
        start = dt.date(2026, month, 1).isoformat()
        end = (dt.date(2026, month + 1, 1) - dt.timedelta(days=1)).isoformat()
        spent = get_spending_summary.fn(world, aid, start, end)["by_category"]
        if spent:
            cat = sorted(spent)[int(rng.integers(len(spent)))]
            return Task("", "banking", f"How much did I spend on {cat} from my {_called(acc)} "
                        f"in {MONTHS[month]} 2026?",
                        [find, Step("get_spending_summary",
                                    {"account_id": Ref(0, f"{i}.account_id"),
                                     "start_date": start, "end_date": end})],
                        Ref(1, f"by_category.{cat}"), answer_is(spent[cat]))
        kind = 4
    if kind == 4:
        shops = sorted({t["description"] for t in world.transactions[aid] if t["type"] == "debit"})
        recent = {s: get_transactions.fn(world, aid, merchant=s, limit=2)["transactions"]
                  for s in shops}
        shops = [s for s, r in recent.items() if len(r) < 2 or r[0]["date"] > r[1]["date"]]
        shop = shops[int(rng.integers(len(shops)))]
        last = recent[shop][0]
        return Task("", "banking", f"How much was my most recent {shop} purchase on my "
                    f"{_called(acc)}, and on what date?",
                    [find, Step("get_transactions", {"account_id": Ref(0, f"{i}.account_id"),
                                                     "merchant": shop})],
                    f"{last['amount']:.2f} {cur} on {last['date']}",
                    answer_in_all([last["amount"], last["date"]]))
    if kind == 5:
        bill = unpaid[int(rng.integers(len(unpaid)))]
        able = [a for a in accounts if a["balance"] >= bill["amount"]]
        acc = able[int(rng.integers(len(able)))]
        aid = acc["account_id"]
        left = _money(world.accounts[aid]["balance"] - world.bills[bill["bill_id"]]["amount"])
        return Task("", "banking", f"How much is my unpaid {bill['payee']} bill, and how much "
                    f"would be left in my {_called(acc)} after paying it from there? Don't pay it.",
                    [Step("list_bills", {}), find],
                    f"the bill is {bill['amount']:.2f} {cur}; {left:.2f} {cur} would be left",
                    answer_in_all([bill["amount"], left]))
    total = _money(sum(world.bills[b["bill_id"]]["amount"] for b in unpaid))
    enough = "yes" if total <= acc["balance"] else "no"
    return Task("", "banking", f"Could my {_called(acc)} cover all my unpaid bills at once? Answer "
                "yes or no and give the total of the unpaid bills.",
                [Step("list_bills", {"status": "unpaid"}), find],
                f"{enough}, the unpaid bills total {total:.2f} {cur}",
                all_of(answer_is(total), _yes_no(enough)))


def _yes_no(expected: str) -> object:
    other = "no" if expected == "yes" else "yes"

    def check(answer: str | None, world: World) -> bool:
        words = normalize(answer or "").replace(".", " ").split()
        return expected in words and other not in words

    return check


DOMAIN = Domain(
    name="banking",
    title="Banking",
    description="Bank accounts: balances, transactions, spending summaries, transfers and bills.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="seen",
    hints={"get_transactions.account_id": "id", "get_transactions.category": "enum",
           "get_spending_summary.account_id": "id", "get_spending_summary.start_date": "date",
           "get_spending_summary.end_date": "date", "transfer_money.from_account_id": "id",
           "transfer_money.to_account_id": "id", "transfer_money.amount": "amount",
           "transfer_money.currency": "currency", "list_bills.status": "enum",
           "pay_bill.bill_id": "id", "pay_bill.from_account_id": "id"},
    synonyms={"account": ["wallet"]},
)
