"""SQLDatabase: a real SQLite company database (departments, employees, salaries, projects).

The agent reads it with SQL through ``run_sql`` (read-only, under SQLiteWorld's authorizer
and time limit) and changes it with ``execute_update`` or the structured ``update_row``.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np

from tool_gym import (
    Domain,
    Ref,
    SQLiteWorld,
    Step,
    Task,
    ToolError,
    answer_is,
    answer_mentions,
    tool,
    world_has,
)

DEPARTMENTS = ["Engineering", "Marketing", "Sales", "Finance", "Research", "Operations", "Legal",
               "Support"]
CITIES = ["Berlin", "Lisbon", "Toronto", "Osaka", "Nairobi", "Austin", "Dublin", "Warsaw"]
FIRST = ["Ava", "Noah", "Mila", "Leo", "Iris", "Omar", "Lena", "Hugo", "Zara", "Ivan", "Nora",
         "Theo", "Maya", "Ravi", "Elsa", "Kofi", "Ines", "Yuki", "Sven", "Dara"]
LAST = ["Moreau", "Tanaka", "Okafor", "Lindqvist", "Alvarez", "Novak", "Brennan", "Sato",
        "Haddad", "Kowalski", "Fischer", "Mensah", "Quinn", "Rossi", "Varga", "Castillo",
        "Dubois", "Ito", "Nakamura", "Petrov"]
TITLES = ["Analyst", "Engineer", "Specialist", "Coordinator", "Associate", "Consultant"]
PROJECTS = ["Apollo", "Borealis", "Cobalt", "Dynamo", "Ember", "Falcon", "Granite", "Helios",
            "Indigo", "Juniper", "Keystone", "Lumen", "Meridian", "Nimbus", "Orion", "Pioneer",
            "Quasar", "Redwood", "Sierra", "Tundra", "Umbra", "Vortex", "Willow", "Zephyr"]
STATUSES = ["planned", "active", "on_hold", "completed"]

SCHEMA = """
CREATE TABLE departments (id INTEGER PRIMARY KEY, name TEXT NOT NULL, location TEXT,
    budget INTEGER);
CREATE TABLE employees (id INTEGER PRIMARY KEY, name TEXT NOT NULL, title TEXT,
    dept_id INTEGER REFERENCES departments(id), manager_id INTEGER REFERENCES employees(id),
    hire_date TEXT, email TEXT);
CREATE TABLE salaries (id INTEGER PRIMARY KEY, employee_id INTEGER REFERENCES employees(id),
    amount INTEGER, currency TEXT, effective_date TEXT);
CREATE TABLE projects (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
    dept_id INTEGER REFERENCES departments(id), lead_id INTEGER REFERENCES employees(id),
    budget INTEGER, status TEXT, deadline TEXT);
"""
MAX_CHARS = 1200  # cap on the rows of a run_sql result, as JSON


def _sql(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _date(rng: np.random.Generator, first: int, last: int) -> str:
    return (f"{int(rng.integers(first, last + 1))}-{int(rng.integers(1, 13)):02d}-"
            f"{int(rng.integers(1, 29)):02d}")


def make_world(rng: np.random.Generator) -> SQLiteWorld:
    rows: dict[str, list[tuple]] = {"departments": [], "employees": [], "salaries": [],
                                    "projects": []}
    n_dept = int(rng.integers(4, 6))
    depts = [DEPARTMENTS[int(i)] for i in rng.choice(len(DEPARTMENTS), n_dept, replace=False)]
    dept_ids = [int(i) + 10 for i in rng.choice(90, n_dept, replace=False)]
    for did, name in zip(dept_ids, depts, strict=True):
        rows["departments"].append((did, name, CITIES[int(rng.integers(len(CITIES)))],
                                    int(rng.integers(20, 200)) * 10_000))
    n_emp = int(rng.integers(22, 31))
    people = rng.choice(len(FIRST) * len(LAST), n_emp, replace=False)
    emp_ids = [int(i) + 100 for i in rng.choice(900, n_emp, replace=False)]
    sal_ids = [int(i) + 1000 for i in rng.choice(9000, n_emp, replace=False)]
    heads: dict[int, int] = {}
    for k, (eid, p) in enumerate(zip(emp_ids, people, strict=True)):
        name = f"{FIRST[int(p) // len(LAST)]} {LAST[int(p) % len(LAST)]}"
        did = dept_ids[k] if k < n_dept else dept_ids[int(rng.integers(n_dept))]
        head = heads.setdefault(did, eid)
        title = "Head of Department" if head == eid else TITLES[int(rng.integers(len(TITLES)))]
        email = name.lower().replace(" ", ".") + "@example.com"
        rows["employees"].append((eid, name, title, did, None if head == eid else head,
                                  _date(rng, 2012, 2025), email))
        amount = int(rng.integers(40, 160)) * 1000 + (40_000 if head == eid else 0)
        rows["salaries"].append((sal_ids[k], eid, amount, "EUR", _date(rng, 2024, 2026)))
    n_proj = int(rng.integers(7, 11))
    proj_ids = [int(i) + 1 for i in rng.choice(99, n_proj, replace=False)]
    for pid, p in zip(proj_ids, rng.choice(len(PROJECTS), n_proj, replace=False), strict=True):
        lead = rows["employees"][int(rng.integers(n_emp))]
        rows["projects"].append((pid, PROJECTS[int(p)], dept_ids[int(rng.integers(n_dept))],
                                 lead[0], int(rng.integers(5, 120)) * 5_000,
                                 STATUSES[int(rng.integers(len(STATUSES)))],
                                 _date(rng, 2026, 2027)))
    script = [SCHEMA]
    for table, table_rows in rows.items():
        values = ", ".join("(" + ", ".join(_sql(v) for v in r) + ")" for r in table_rows)
        script.append(f"INSERT INTO {table} VALUES {values};")
    return SQLiteWorld("\n".join(script))


def _tables(world: SQLiteWorld) -> list[str]:
    cur = world.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return [r[0] for r in cur.fetchall()]


def _table(world: SQLiteWorld, table: str) -> str:
    name = table.strip().strip('"').lower()
    tables = _tables(world)
    if name not in tables:
        raise ToolError(f"no table '{table}'; tables: {', '.join(tables)}")
    return name


def _columns(world: SQLiteWorld, table: str) -> list[dict]:
    cols = world.conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    refs = {r[3]: f"{r[2]}.{r[4]}"
            for r in world.conn.execute(f'PRAGMA foreign_key_list("{table}")').fetchall()}
    out = []
    for _cid, name, ctype, notnull, _default, pk in cols:
        col = {"name": name, "type": ctype or "ANY"}
        if pk:
            col["primary_key"] = True
        if notnull:
            col["not_null"] = True
        if name in refs:
            col["references"] = refs[name]
        out.append(col)
    return out


def _count(world: SQLiteWorld, table: str) -> int:
    return int(world.conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])


@tool
def list_tables(world: SQLiteWorld) -> dict:
    """List the tables of the company database with their row counts."""
    return {"tables": [{"name": t, "rows": _count(world, t)} for t in _tables(world)]}


@tool
def describe_table(world: SQLiteWorld, table: str) -> dict:
    """Columns of one table: name, SQL type, primary key and which table a column references.

    Args:
        table: Table name as listed by list_tables, e.g. employees.
    """
    name = _table(world, table)
    return {"table": name, "columns": _columns(world, name), "rows": _count(world, name)}


@tool
def run_sql(world: SQLiteWorld, query: str) -> dict:
    """Run one read-only SQLite SELECT statement; returns columns and up to 50 rows.

    Args:
        query: One SQLite SELECT statement, e.g. SELECT name FROM employees WHERE id = 101.
    """
    if not query.strip():
        raise ToolError("empty query; send one SELECT statement")
    result = world.query(query)
    rows = [[_plain(v) for v in r] for r in result["rows"]]
    shown = len(rows)
    while shown > 1 and len(json.dumps(rows[:shown])) > MAX_CHARS:
        shown -= 1
    result["rows"] = rows[:shown]
    if shown < len(rows):
        result["note"] = (f"only the first {shown} rows are shown; select fewer columns or add "
                          "WHERE / LIMIT")
    return result


def _plain(value: object) -> object:
    """A JSON-friendly, bounded cell value."""
    if isinstance(value, bytes):
        value = f"x'{value[:100].hex()}'"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value[:200] + "..." if isinstance(value, str) and len(value) > 200 else value


@tool
def get_row(world: SQLiteWorld, table: str, row_id: int) -> dict:
    """One row of a table by its integer primary key id, as a column -> value object.

    Args:
        table: Table name, e.g. employees.
        row_id: Value of the row's id column.
    """
    name = _table(world, table)
    cur = world.conn.execute(f'SELECT * FROM "{name}" WHERE id = ?', (row_id,))
    row = cur.fetchone()
    if row is None:
        raise ToolError(f"no row with id {row_id} in {name}; find ids with run_sql")
    return {"table": name, "row": dict(zip([d[0] for d in cur.description], row, strict=True))}


@tool(side_effects=True)
def update_row(world: SQLiteWorld, table: str, row_id: int, column: str, value: str) -> dict:
    """Set one column of one row (found by its id) to a new value.

    Args:
        table: Table name, e.g. salaries.
        row_id: Value of the row's id column.
        column: Column to change (not id), e.g. amount.
        value: New value as text; integer columns need a whole number such as 52000.
    """
    name = _table(world, table)
    cols = {c["name"]: c["type"] for c in _columns(world, name)}
    if column not in cols:
        raise ToolError(f"no column '{column}' in {name}; columns: {', '.join(cols)}")
    if column == "id":
        raise ToolError("the id column cannot be changed")
    if cols[column] == "INTEGER" and not re.fullmatch(r"\s*-?\d{1,18}\s*", value):
        raise ToolError(f"{name}.{column} is INTEGER; give a whole number (at most 18 digits), "
                        f"got '{value[:40]}'")
    stored: object = int(value) if cols[column] == "INTEGER" else value
    before = world.conn.total_changes
    world.query(f'UPDATE "{name}" SET "{column}" = ? WHERE id = ?', (stored, row_id), write=True)
    if world.conn.total_changes == before:
        raise ToolError(f"no row with id {row_id} in {name}; find ids with run_sql")
    return {"status": "updated", "table": name, "id": row_id, column: stored}


@tool(side_effects=True)
def execute_update(world: SQLiteWorld, statement: str) -> dict:
    """Run one INSERT, UPDATE or DELETE statement; returns how many rows it changed.

    Args:
        statement: One SQLite INSERT, UPDATE or DELETE statement.
    """
    if not re.match(r"\s*(insert|update|delete|replace|with)\b", statement, re.IGNORECASE):
        raise ToolError("execute_update runs INSERT, UPDATE or DELETE; use run_sql for SELECT")
    before = world.conn.total_changes
    result = world.query(statement, write=True)
    out = {"status": "ok", "rows_changed": world.conn.total_changes - before}
    if result["rows"]:
        out["returned"] = [[_plain(v) for v in r] for r in result["rows"][:5]]
    return out


TOOLS = [list_tables, describe_table, run_sql, get_row, update_row, execute_update]



def _one(world: SQLiteWorld, sql: str, params: tuple = ()) -> object:
    row = world.conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def make_task(rng: np.random.Generator, world: SQLiteWorld, seed: int) -> Task:
    kind = int(rng.integers(8))
    c = world.conn
    emps = c.execute("SELECT id, name, dept_id, manager_id FROM employees ORDER BY id").fetchall()
    eid, name, dept_id, manager_id = emps[int(rng.integers(len(emps)))]
    projects = c.execute("SELECT id, name, lead_id, status FROM projects ORDER BY id").fetchall()
    pid, project, lead_id, status = projects[int(rng.integers(len(projects)))]
    depts = c.execute("SELECT id, name FROM departments ORDER BY id").fetchall()
    dept = dict(depts)
    q_name = _sql(name)
    if kind == 0:
        amount = _one(world, "SELECT amount FROM salaries WHERE employee_id = ?", (eid,))
        return Task("", "sqldb", f"What is the current salary amount (EUR) of the employee named "
                    f"{name}? Use the company database.",
                    [Step("run_sql", {"query": "SELECT s.amount FROM salaries s JOIN employees e "
                                      f"ON s.employee_id = e.id WHERE e.name = {q_name}"})],
                    Ref(0, "rows.0.0"), answer_is(amount))
    if kind == 1:
        dname = dept[dept_id]
        year = int(_one(world, "SELECT substr(hire_date, 1, 4) FROM employees WHERE id = ?",
                        (eid,)))
        n = _one(world, "SELECT COUNT(*) FROM employees WHERE dept_id = ? AND hire_date >= ?",
                 (dept_id, f"{year}-01-01"))
        return Task("", "sqldb", f"How many employees of the {dname} department were hired in "
                    f"{year} or later?",
                    [Step("run_sql", {"query": "SELECT COUNT(*) FROM employees e JOIN departments "
                                      f"d ON e.dept_id = d.id WHERE d.name = {_sql(dname)} AND "
                                      f"e.hire_date >= '{year}-01-01'"})],
                    Ref(0, "rows.0.0"), answer_is(n))
    if kind == 2:  # employee -> manager id -> manager row
        managed = [e for e in emps if e[3] is not None]
        eid, name, dept_id, manager_id = managed[int(rng.integers(len(managed)))]
        boss = _one(world, "SELECT name FROM employees WHERE id = ?", (manager_id,))
        return Task("", "sqldb", f"Who is the manager of {name}? Give the manager's full name.",
                    [Step("run_sql", {"query": "SELECT manager_id FROM employees WHERE name = "
                                      f"{_sql(name)}"}),
                     Step("get_row", {"table": "employees", "row_id": Ref(0, "rows.0.0")})],
                    Ref(1, "row.name"), answer_mentions(boss))
    if kind == 3:  # project -> lead -> lead's department (or the lead's own email)
        lead_dept, email = c.execute("SELECT d.name, e.email FROM employees e JOIN departments d "
                                     "ON e.dept_id = d.id WHERE e.id = ?", (lead_id,)).fetchone()
        plan = [Step("run_sql", {"query": "SELECT lead_id FROM projects WHERE name = "
                                 f"{_sql(project)}"}),
                Step("get_row", {"table": "employees", "row_id": Ref(0, "rows.0.0")})]
        if rng.integers(2):
            return Task("", "sqldb", f"What is the email address of the person who leads project "
                        f"{project}?", plan, Ref(1, "row.email"), answer_mentions(email))
        return Task("", "sqldb", f"In which department does the lead of project {project} work? "
                    "Give the department name.",
                    [*plan,
                     Step("get_row", {"table": "departments", "row_id": Ref(1, "row.dept_id")})],
                    Ref(2, "row.name"), answer_mentions(lead_dept))
    if kind == 4:  # salary row id -> update it
        old = _one(world, "SELECT amount FROM salaries WHERE employee_id = ?", (eid,))
        new = int(old) + int(rng.integers(1, 21)) * 500

        def raised(w: SQLiteWorld) -> bool:
            r = w.query("SELECT amount FROM salaries WHERE employee_id = ?", (eid,))["rows"]
            return bool(r) and r[0][0] == new

        return Task("", "sqldb", f"Set the salary amount of {name} to {new} EUR in the salaries "
                    "table, then say done.",
                    [Step("run_sql", {"query": "SELECT s.id FROM salaries s JOIN employees e ON "
                                      f"s.employee_id = e.id WHERE e.name = {q_name}"}),
                     Step("update_row", {"table": "salaries", "row_id": Ref(0, "rows.0.0"),
                                         "column": "amount", "value": str(new)})],
                    "done", world_has(raised))
    if kind == 5:
        if rng.integers(2):
            column, value = "deadline", _date(rng, 2026, 2028)
            while value == _one(world, "SELECT deadline FROM projects WHERE id = ?", (pid,)):
                value = _date(rng, 2026, 2028)
            ask = f"Move the deadline of project {project} to {value} (YYYY-MM-DD)"
        else:
            column = "status"
            value = [s for s in STATUSES if s != status][int(rng.integers(len(STATUSES) - 1))]
            ask = f"Change the status of project {project} to '{value}'"

        def marked(w: SQLiteWorld) -> bool:
            r = w.query(f"SELECT {column} FROM projects WHERE id = ?", (pid,))["rows"]
            return bool(r) and r[0][0] == value

        return Task("", "sqldb", f"{ask}, then say done.",
                    [Step("execute_update", {"statement": f"UPDATE projects SET {column} = "
                                             f"{_sql(value)} WHERE name = {_sql(project)}"})],
                    "done", world_has(marked))
    if kind == 6:  # department id and employee id -> move the employee
        target = [d for d in depts if d[0] != dept_id][int(rng.integers(len(depts) - 1))]

        def moved(w: SQLiteWorld) -> bool:
            r = w.query("SELECT dept_id FROM employees WHERE id = ?", (eid,))["rows"]
            return bool(r) and r[0][0] == target[0]

        return Task("", "sqldb", f"Move employee {name} to the {target[1]} department (update "
                    "their department id), then say done.",
                    [Step("run_sql", {"query": "SELECT CAST(id AS TEXT) FROM departments WHERE "
                                      f"name = {_sql(target[1])}"}),
                     Step("run_sql", {"query": f"SELECT id FROM employees WHERE name = {q_name}"}),
                     Step("update_row", {"table": "employees", "row_id": Ref(1, "rows.0.0"),
                                         "column": "dept_id", "value": Ref(0, "rows.0.0")})],
                    "done", world_has(moved))
    p_dept = _one(world, "SELECT dept_id FROM projects WHERE id = ?", (pid,))
    total = _one(world, "SELECT SUM(budget) FROM projects WHERE status = ? AND dept_id = ?",
                 (status, p_dept))
    return Task("", "sqldb", f"What is the total budget of the {dept[p_dept]} department's "
                f"projects whose status is '{status}'?",
                [Step("run_sql", {"query": "SELECT SUM(p.budget) FROM projects p JOIN departments "
                                  f"d ON p.dept_id = d.id WHERE p.status = {_sql(status)} AND "
                                  f"d.name = {_sql(dept[p_dept])}"})],
                Ref(0, "rows.0.0"), answer_is(total))


DOMAIN = Domain(
    name="sqldb",
    title="SQLDatabase",
    description="A real SQLite company database: employees, departments, salaries, projects.",
    tools=TOOLS,
    make_world=make_world,
    make_task=make_task,
    split="seen",
    hints={"run_sql.query": "sql", "execute_update.statement": "sql", "get_row.row_id": "id",
           "update_row.row_id": "id"},
    synonyms={"table": ["relation", "dataset"], "tables": ["relations", "datasets"],
              "row": ["record", "entry"], "sql": ["query"], "statement": ["command", "stmt"],
              "column": ["field"]},
)
