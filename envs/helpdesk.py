"""Helpdesk: an IT support ticketing API with tickets, comments and a roster of support agents.

The world is a seeded queue of tickets (open, pending, resolved and closed, some unassigned)
and agents in four teams, each with a workload of active tickets. Assigning tickets,
changing their status (along the allowed transitions) and posting comments change it.
"""

from __future__ import annotations

import datetime as dt
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
    answer_mentions,
    lookup_id,
    tool,
    world_has,
)

TEAMS = ["network", "hardware", "software", "accounts"]
TEAM = Literal["any", "network", "hardware", "software", "accounts"]
STATUSES = ["open", "pending", "resolved", "closed"]
STATUS = Literal["open", "pending", "resolved", "closed"]
PRIORITIES = ["low", "normal", "high", "urgent"]
PRIORITY_P = [0.25, 0.4, 0.25, 0.1]
ACTIVE = ("open", "pending")
NEXT_STATUS = {"open": ["pending", "resolved"], "pending": ["open", "resolved"],
               "resolved": ["open", "closed"], "closed": []}
MAX_ACTIVE = 6  # an agent with this many open or pending tickets takes no more
MAX_COMMENT = 1000
MAX_RESULTS = 10
TODAY = dt.date(2026, 5, 18)

# team -> (things, problems); every "<thing> <problem>" reads as a ticket subject
SUBJECTS: dict[str, tuple[list[str], list[str]]] = {
    "network": (["VPN", "Wi-Fi on floor 2", "Wi-Fi in the east wing", "Guest Wi-Fi",
                 "Remote desktop gateway", "Shared drive", "Office ethernet port", "Intranet"],
                ["drops every few minutes", "is very slow", "will not connect",
                 "times out after login", "keeps asking for credentials"]),
    "hardware": (["Laptop", "Docking station", "Printer on floor 3", "Second monitor",
                  "Badge reader", "Headset", "Desk phone", "Webcam"],
                 ["will not power on", "makes a grinding noise", "is not detected",
                  "keeps disconnecting", "flickers constantly"]),
    "software": (["Outlook", "Excel", "Teams", "CRM app", "Payroll app", "Zoom plugin",
                  "PDF editor", "Antivirus"],
                 ["crashes on start", "freezes when saving", "shows a licence error",
                  "will not install", "stopped working after the update"]),
    "accounts": (["Password reset", "MFA enrollment", "Mailbox access", "Shared folder permission",
                  "Account unlock", "SSO login", "Admin rights", "Distribution list access"],
                 ["needed for a new hire", "for the finance team", "failing for a contractor",
                  "needed before Friday", "requested by marketing"]),
}
REQ_FIRST = ["Amelia", "Boris", "Chloe", "Diego", "Elif", "Farid", "Gemma", "Hiro", "Ines",
             "Jonas", "Kira", "Luca", "Mei", "Nikhil", "Olga", "Pablo", "Rania", "Sven"]
REQ_LAST = ["Adler", "Brandt", "Costa", "Dubois", "Engel", "Fontaine", "Garcia", "Horvat",
            "Ito", "Jensen", "Keller", "Lopez", "Moretti", "Nakamura", "Olsen", "Petrov"]
AGENT_NAMES = ["Alex Morgan", "Bea Sandoval", "Cody Walsh", "Dana Whitfield", "Eli Brooks",
               "Fatima Rahman", "Gus Pereira", "Hana Kim", "Ivo Marsh", "June Okafor",
               "Kurt Lindgren", "Lara Benson", "Milo Grant", "Nora Quist", "Omar Haddad",
               "Pia Castell"]
AGENT_NOTES = ["Looking into this now.", "Asked the requester for a screenshot.",
               "Escalated to the vendor.", "Scheduled a remote session for tomorrow.",
               "Could not reproduce on a test machine.", "Applied a workaround."]
REQUESTER_NOTES = ["Still happening this morning.", "Any update on this?",
                   "Thanks, that worked for a while.", "This is blocking my work.",
                   "It happens on the other machine too."]
REPLIES = ["We are working on this and will update you by {day}.",
           "Please restart and try again; we pushed a fix at {hour}:00.",
           "We will call you on {day} to go through it together.",
           "Could you send a screenshot of the error before {hour}:00?",
           "Please stop by the service desk on {day} so we can take a look.",
           "The vendor confirmed the issue and expects a patch by {day}."]
INTERNAL_NOTES = ["Same root cause as last week's outage; watch the {day} change window.",
                  "Requester is a VIP; keep the manager in the loop until {day}.",
                  "Checked the logs around {hour}:00, nothing unusual.",
                  "Waiting on procurement; chase them on {day}.",
                  "Possible duplicate; compare with tickets from {day}."]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


@dataclass
class HelpdeskWorld(World):
    tickets: dict[str, dict] = field(default_factory=dict)  # ticket id -> ticket with comments
    agents: dict[str, dict] = field(default_factory=dict)  # agent id -> agent


def _iso(d: dt.date) -> str:
    return d.isoformat()


def _load(world: HelpdeskWorld, agent_id: str) -> int:
    return sum(t["assignee"] == agent_id and t["status"] in ACTIVE for t in world.tickets.values())


def make_world(rng: np.random.Generator) -> HelpdeskWorld:
    w = HelpdeskWorld()
    sizes = [3, 3, 2, 2]
    order = rng.permutation(4).tolist()
    agent_nums = (rng.permutation(60)[:10] + 1).tolist()
    names = rng.permutation(len(AGENT_NAMES))[:10].tolist()
    roster = []  # (agent id, team, target load): loads are distinct within a team
    k = 0
    for i, t in enumerate(order):
        loads = rng.permutation(5)[: sizes[i]].tolist()
        for load in loads:
            aid = f"AG{agent_nums[k]:02d}"
            w.agents[aid] = {"agent_id": aid, "name": AGENT_NAMES[names[k]], "team": TEAMS[t],
                             "on_leave": False}
            roster.append((aid, TEAMS[t], load))
            k += 1
    w.agents[roster[int(rng.integers(len(roster)))][0]]["on_leave"] = True
    w.agents = dict(sorted(w.agents.items()))
    # ticket specs: (team, status, assignee)
    specs: list[tuple[str, str, str | None]] = []
    for aid, team, load in roster:
        specs += [(team, "pending" if rng.random() < 0.3 else "open", aid) for _ in range(load)]
    by_team = {t: [a for a, tm, _ in roster if tm == t] for t in TEAMS}
    for status in ["open"] * 4 + ["resolved"] * 4 + ["closed"] * 4:
        team = TEAMS[int(rng.integers(4))]
        aid = None if status == "open" else by_team[team][int(rng.integers(len(by_team[team])))]
        specs.append((team, status, aid))
    subjects = {t: rng.permutation(len(SUBJECTS[t][0]) * len(SUBJECTS[t][1])).tolist()
                for t in TEAMS}
    ids = (rng.permutation(9000)[: len(specs)] + 1000).tolist()
    people = rng.permutation(len(REQ_FIRST) * len(REQ_LAST))[:14].tolist()
    people = [f"{REQ_FIRST[p // len(REQ_LAST)]} {REQ_LAST[p % len(REQ_LAST)]}" for p in people]
    for j, (team, status, aid) in enumerate(specs):
        things, problems = SUBJECTS[team]
        s = subjects[team].pop()
        tid = f"TK-{ids[j]}"
        age = int(rng.integers(0, 45))
        created = TODAY - dt.timedelta(days=age)
        requester = people[int(rng.integers(len(people)))]
        comments = []
        for _ in range(int(rng.integers(0, 4)) if aid else int(rng.integers(0, 2))):
            when = created + dt.timedelta(days=int(rng.integers(0, age + 1)))
            if aid and rng.random() < 0.6:
                author, text = w.agents[aid]["name"], AGENT_NOTES[int(rng.integers(6))]
            else:
                author, text = requester, REQUESTER_NOTES[int(rng.integers(5))]
            comments.append({"author": author, "date": _iso(when), "text": text,
                             "internal": False})
        comments.sort(key=lambda c: c["date"])
        w.tickets[tid] = {"ticket_id": tid, "subject": f"{things[s // 5]} {problems[s % 5]}",
                          "team": team, "requester": requester,
                          "priority": PRIORITIES[int(rng.choice(4, p=PRIORITY_P))],
                          "status": status, "assignee": aid, "created": _iso(created),
                          "comments": comments}
    w.tickets = dict(sorted(w.tickets.items()))
    return w


def _ticket(world: HelpdeskWorld, ticket_id: str) -> dict:
    return lookup_id(world.tickets, ticket_id,
                     "ticket '{id}' does not exist; ticket ids have the form "
                     "TK-1042 and search_tickets shows the real ones")


def _agent(world: HelpdeskWorld, agent_id: str) -> dict:
    return lookup_id(world.agents, agent_id,
                     "unknown agent '{id}'; agent ids are AG plus two digits "
                     "(e.g. AG07), and list_agents gives the roster")


def _summary(t: dict) -> dict:
    return {k: t[k] for k in ("ticket_id", "subject", "status", "priority", "team")}


@tool
def search_tickets(world: HelpdeskWorld, query: str = "",
                   status: Literal["any", "open", "pending", "resolved", "closed"] = "any",
                   priority: Literal["any", "low", "normal", "high", "urgent"] = "any",
                   team: TEAM = "any") -> dict:
    """Find tickets by words in the subject or the requester's name, with optional filters;
    exact subject matches come first, then the most urgent.

    Args:
        query: Words to look for in the subject or requester name; empty matches every ticket.
        status: Only tickets in this status, or any.
        priority: Only tickets with this priority, or any.
        team: Only tickets routed to this support team, or any.
    """
    q = " ".join(query.lower().split())
    hits = []
    for t in world.tickets.values():
        if (status != "any" and t["status"] != status) or \
                (priority != "any" and t["priority"] != priority) or \
                (team != "any" and t["team"] != team):
            continue
        if q and q not in t["subject"].lower() and q not in t["requester"].lower():
            continue
        rank = -PRIORITIES.index(t["priority"])
        hits.append(((t["subject"].lower() != q, rank, t["ticket_id"]), t))
    hits.sort(key=lambda h: h[0])
    out: dict = {"count": len(hits), "results": [_summary(t) for _, t in hits[:MAX_RESULTS]]}
    if len(hits) > MAX_RESULTS:
        out["note"] = f"first {MAX_RESULTS} of {len(hits)} tickets; narrow with more filters"
    if not hits:
        out["note"] = "nothing matched; drop some words or set a filter back to 'any'"
    return out


@tool
def get_ticket(world: HelpdeskWorld, ticket_id: str) -> dict:
    """Everything about one ticket: subject, team, requester, priority, status, assignee,
    creation date and the comment thread (oldest first).

    Args:
        ticket_id: Ticket id, e.g. TK-1042.
    """
    t = _ticket(world, ticket_id)
    aid = t["assignee"]
    return {**{k: v for k, v in t.items() if k != "comments"},
            "assignee": aid, "assignee_name": world.agents[aid]["name"] if aid else None,
            "comment_count": len(t["comments"]), "comments": [dict(c) for c in t["comments"]]}


@tool
def list_agents(world: HelpdeskWorld, team: TEAM = "any") -> dict:
    """The support agents, optionally of one team, with how many open or pending tickets each
    is working on and whether they are on leave.

    Args:
        team: Support team to list, or any.
    """
    agents = [{**a, "active_tickets": _load(world, a["agent_id"])}
              for a in world.agents.values() if team == "any" or a["team"] == team]
    return {"count": len(agents), "max_active_tickets": MAX_ACTIVE, "agents": agents}


@tool(side_effects=True)
def assign_ticket(world: HelpdeskWorld, ticket_id: str, agent_id: str) -> dict:
    """Hand an open or pending ticket to an agent (replacing any current assignee).

    Args:
        ticket_id: Ticket id, e.g. TK-1042.
        agent_id: Agent id from list_agents, e.g. AG07.
    """
    t, a = _ticket(world, ticket_id), _agent(world, agent_id)
    tid, aid = t["ticket_id"], a["agent_id"]
    if t["status"] not in ACTIVE:
        raise ToolError(f"{tid} is {t['status']}, and only open or pending tickets take an "
                        "assignee; reopen it with set_status first")
    if t["assignee"] == aid:
        raise ToolError(f"{tid} already belongs to {a['name']} ({aid}); nothing to change")
    if a["on_leave"]:
        raise ToolError(f"{a['name']} ({aid}) is on leave and cannot take tickets; pick an "
                        "agent whose on_leave is false in list_agents")
    load = _load(world, aid)
    if load >= MAX_ACTIVE:
        raise ToolError(f"{a['name']} ({aid}) already works on {load} tickets, the most "
                        "allowed; choose a less busy agent")
    previous = t["assignee"]
    t["assignee"] = aid
    return {"ticket_id": tid, "assignee": aid, "assignee_name": a["name"],
            "previous_assignee": previous, "agent_active_tickets": load + 1}


@tool(side_effects=True)
def set_status(world: HelpdeskWorld, ticket_id: str, status: STATUS) -> dict:
    """Move a ticket to a new status. Allowed moves: open to pending or resolved, pending to
    open or resolved, resolved to open or closed; closed is final. Resolving needs an assignee.

    Args:
        ticket_id: Ticket id, e.g. TK-1042.
        status: The new status.
    """
    t = _ticket(world, ticket_id)
    tid, now = t["ticket_id"], t["status"]
    if status == now:
        raise ToolError(f"{tid} is already {now}; pick one of the other statuses")
    allowed = NEXT_STATUS[now]
    if not allowed:
        raise ToolError(f"{tid} is closed, which is final: no status change is possible (only a "
                        "resolved ticket can be reopened)")
    if status not in allowed:
        raise ToolError(f"{tid} cannot go from {now} to {status}; from {now} it may only move "
                        f"to {' or '.join(allowed)}")
    if status == "resolved" and t["assignee"] is None:
        raise ToolError(f"{tid} has nobody assigned; give it to an agent with assign_ticket "
                        "before resolving it")
    t["status"] = status
    return {"ticket_id": tid, "subject": t["subject"], "requester": t["requester"],
            "previous_status": now, "status": status}


@tool(side_effects=True)
def add_comment(world: HelpdeskWorld, ticket_id: str, text: str, internal: bool = False) -> dict:
    """Post a comment on a ticket: a public reply the requester sees, or an internal note for
    agents only.

    Args:
        ticket_id: Ticket id, e.g. TK-1042.
        text: The comment, up to 1000 characters.
        internal: True for an agents-only note, false for a reply to the requester.
    """
    t = _ticket(world, ticket_id)
    body = text.strip()
    if not body:
        raise ToolError("the comment text is blank; write what should be posted")
    if len(body) > MAX_COMMENT:
        raise ToolError(f"the comment has {len(body)} characters and the limit is "
                        f"{MAX_COMMENT}; shorten it")
    if t["status"] == "closed":
        raise ToolError(f"{t['ticket_id']} is closed and its thread is locked; comments are "
                        "accepted on open, pending or resolved tickets")
    t["comments"].append({"author": "Service Desk", "date": _iso(TODAY), "text": body,
                          "internal": bool(internal)})
    return {"ticket_id": t["ticket_id"], "posted": _iso(TODAY), "internal": bool(internal),
            "comment_count": len(t["comments"])}


TOOLS = [search_tickets, get_ticket, list_agents, assign_ticket, set_status, add_comment]


def _pick(rng: np.random.Generator, items: list):
    return items[int(rng.integers(len(items)))]


def _comment_text(rng: np.random.Generator, internal: bool) -> str:
    bank = INTERNAL_NOTES if internal else REPLIES
    return _pick(rng, bank).format(day=_pick(rng, DAYS), hour=int(rng.integers(8, 18)))


def make_task(rng: np.random.Generator, world: HelpdeskWorld, seed: int) -> Task:
    kind = int(rng.integers(10))
    tickets = list(world.tickets.values())
    agents = list(world.agents.values())
    active = [t for t in tickets if t["status"] in ACTIVE]

    def task(query: str, plan: list[Step], answer: Ref, check) -> Task:
        return Task("", "helpdesk", query, plan, answer, check)

    if kind in (0, 6):  # a fact about one ticket, by id (one call) or by subject (two calls)
        t = _pick(rng, tickets)
        tid = t["ticket_id"]
        facts = ["requester", "created", "priority", "team"]
        if t["assignee"]:
            facts.append("assignee_name")
        if t["comments"]:
            facts.append("comment_count")
        fact = _pick(rng, facts)
        if kind == 0:
            name = f"ticket {tid}"
            plan = [Step("get_ticket", {"ticket_id": tid})]
        else:
            name = f"the ticket '{t['subject']}'"
            plan = [Step("search_tickets", {"query": t["subject"]}),
                    Step("get_ticket", {"ticket_id": Ref(0, "results.0.ticket_id")})]
        query = {"requester": f"Who raised {name}?",
                 "created": f"On what date was {name} opened? Answer as YYYY-MM-DD.",
                 "priority": f"What priority does {name} have?",
                 "team": f"Which support team is {name} routed to?",
                 "assignee_name": f"Which agent is handling {name}? Give their name.",
                 "comment_count": f"How many comments are there on {name}?"}[fact]
        value = (world.agents[t["assignee"]]["name"] if fact == "assignee_name"
                 else len(t["comments"]) if fact == "comment_count" else t[fact])
        check = answer_mentions(value) if isinstance(value, str) else answer_is(value)
        return task(query, plan, Ref(len(plan) - 1, fact), check)

    if kind == 1:  # least busy available agent of a team
        team = _pick(rng, TEAMS)
        roster = [a for a in agents if a["team"] == team]
        free = [a for a in roster if not a["on_leave"]]
        best = min(free, key=lambda a: _load(world, a["agent_id"]))
        k = roster.index(best)
        return task(f"Which {team} agent who is not on leave has the fewest open or pending "
                    "tickets right now?", [Step("list_agents", {"team": team})],
                    Ref(0, f"agents.{k}.name"), answer_mentions(best["name"], best["agent_id"]))

    if kind == 2:  # count tickets by filters
        status = _pick(rng, ["open", "pending", "resolved", "closed"])
        args: dict = {"status": status}
        words = []
        if rng.random() < 0.6:
            args["priority"] = _pick(rng, PRIORITIES)
            words.append(args["priority"] + "-priority")
        if rng.random() < 0.5:
            args["team"] = _pick(rng, TEAMS)
            words.append(args["team"])
        n = sum(t["status"] == status and t["priority"] == args.get("priority", t["priority"])
                and t["team"] == args.get("team", t["team"]) for t in tickets)
        what = " ".join(words + ["tickets"])
        return task(f"How many {what} are {status} at the moment?",
                    [Step("search_tickets", args)], Ref(0, "count"), answer_is(n))

    if kind in (3, 9):  # post a reply or an internal note, by id or by subject
        t = _pick(rng, [x for x in tickets if x["status"] != "closed"])
        tid = t["ticket_id"]
        internal = bool(rng.random() < 0.4)
        text = _comment_text(rng, internal)
        n = len(t["comments"]) + 1
        name = f"ticket {tid}" if kind == 3 else f"the ticket '{t['subject']}'"
        what = ("Add an internal note (agents only) to" if internal
                else "Reply to the requester on")
        plan = [] if kind == 3 else [Step("search_tickets", {"query": t["subject"]})]
        ref = tid if kind == 3 else Ref(0, "results.0.ticket_id")
        plan.append(Step("add_comment", {"ticket_id": ref, "text": text, "internal": internal}))

        def posted(w: HelpdeskWorld) -> bool:
            return any(c["text"].strip().rstrip(".") == text.rstrip(".")
                       and c["internal"] == internal for c in w.tickets[tid]["comments"])

        return task(f"{what} {name} with exactly this text: \"{text}\" Then tell me how many "
                    "comments the ticket has.", plan, Ref(len(plan) - 1, "comment_count"),
                    all_of(world_has(posted), answer_is(n)))

    if kind == 4:  # one status change
        moves = [(t, s) for t in tickets for s in NEXT_STATUS[t["status"]]
                 if s != "resolved" or t["assignee"]]
        t, new = _pick(rng, moves)
        tid = t["ticket_id"]
        query = {("open", "pending"): f"Ticket {tid} is waiting on information from the "
                 "requester. Put it on pending, and tell me who the requester is.",
                 ("open", "resolved"): f"The problem in ticket {tid} is fixed. Mark it "
                 "resolved and tell me who reported it so I can let them know.",
                 ("pending", "open"): f"The requester of ticket {tid} has sent the details we "
                 "asked for. Move the ticket back to open, and tell me the requester's name.",
                 ("pending", "resolved"): f"Ticket {tid} turned out to be fixed already. Mark "
                 "it resolved and tell me who reported it.",
                 ("resolved", "open"): f"The issue in ticket {tid} is back. Reopen the ticket "
                 "and tell me who the requester is.",
                 ("resolved", "closed"): f"The requester confirmed the fix for ticket {tid}. "
                 "Close it and tell me who that requester is."}[(t["status"], new)]

        def moved(w: HelpdeskWorld) -> bool:
            return w.tickets[tid]["status"] == new

        return task(query, [Step("set_status", {"ticket_id": tid, "status": new})],
                    Ref(0, "requester"), all_of(world_has(moved), answer_mentions(t["requester"])))

    if kind == 5:  # assign by ids
        pairs = [(t, a) for t in active for a in agents
                 if not a["on_leave"] and t["assignee"] != a["agent_id"]]
        t, a = _pick(rng, pairs)
        tid, aid = t["ticket_id"], a["agent_id"]
        load = _load(world, aid) + 1

        def assigned(w: HelpdeskWorld) -> bool:
            return w.tickets[tid]["assignee"] == aid

        return task(f"Please give ticket {tid} to {a['name']} ({aid}). How many open or pending "
                    "tickets will they have after that?",
                    [Step("assign_ticket", {"ticket_id": tid, "agent_id": aid})],
                    Ref(0, "agent_active_tickets"), all_of(world_has(assigned), answer_is(load)))

    if kind == 7:  # route an unassigned ticket to the least busy agent of a team
        t = _pick(rng, [x for x in active if x["assignee"] is None])
        tid, team = t["ticket_id"], t["team"]
        roster = [a for a in agents if a["team"] == team]
        best = min((a for a in roster if not a["on_leave"]),
                   key=lambda a: _load(world, a["agent_id"]))
        k, aid = roster.index(best), best["agent_id"]

        def routed(w: HelpdeskWorld) -> bool:
            return w.tickets[tid]["assignee"] == aid

        return task(f"Nobody owns the ticket '{t['subject']}' yet. Assign it to the {team} agent "
                    "with the fewest open or pending tickets (skipping anyone on leave), and "
                    "tell me who you gave it to.",
                    [Step("search_tickets", {"query": t["subject"]}),
                     Step("list_agents", {"team": team}),
                     Step("assign_ticket", {"ticket_id": Ref(0, "results.0.ticket_id"),
                                            "agent_id": Ref(1, f"agents.{k}.agent_id")})],
                    Ref(2, "assignee_name"),
                    all_of(world_has(routed), answer_mentions(best["name"], aid)))

    # kind 8: assign an unassigned ticket, then resolve it
    t = _pick(rng, [x for x in active if x["assignee"] is None])
    tid = t["ticket_id"]
    a = _pick(rng, [x for x in agents if not x["on_leave"] and x["team"] == t["team"]])
    aid = a["agent_id"]

    def done(w: HelpdeskWorld) -> bool:
        return w.tickets[tid]["assignee"] == aid and w.tickets[tid]["status"] == "resolved"

    return task(f"{a['name']} ({aid}) fixed the issue in ticket {tid}, which has no assignee "
                "yet. Put the ticket in their name, mark it resolved, and tell me who reported "
                "it.",
                [Step("assign_ticket", {"ticket_id": tid, "agent_id": aid}),
                 Step("set_status", {"ticket_id": tid, "status": "resolved"})],
                Ref(1, "requester"), all_of(world_has(done), answer_mentions(t["requester"])))


DOMAIN = Domain(
    name="helpdesk",
    title="Helpdesk",
    description="IT support tickets: search and read tickets, agent workloads, assignment, "
                "status changes and comments.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="unseen",
    hints={"search_tickets.status": "enum", "search_tickets.priority": "enum",
           "search_tickets.team": "enum", "get_ticket.ticket_id": "id",
           "list_agents.team": "enum", "assign_ticket.ticket_id": "id",
           "assign_ticket.agent_id": "id", "set_status.ticket_id": "id",
           "set_status.status": "enum", "add_comment.ticket_id": "id"},
    synonyms={"tickets": ["cases", "issues"], "agent": ["operator", "technician"],
              "agents": ["operators", "technicians"], "assign": ["allocate", "delegate"],
              "comment": ["remark", "reply"], "priority": ["urgency", "severity"],
              "team": ["group", "squad"]},
)
