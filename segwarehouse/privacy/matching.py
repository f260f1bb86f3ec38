"""Which person an erasure identifier names, and exactly which landing-file lines are theirs.

Matching is exact, never by substring: an identifier resolves through the identity graph to a person, the
person's identifiers are the graph's exact normalized values (only those deterministic links tie to the
subject when the person has probabilistic links), and a line is the person's when one of its
parsed identifier columns equals one of them. Lines that did not parse (quarantined) are matched on their
raw text with token boundaries: `an@example.org` matches `"an@example.org"` but not `joan@example.org`, and
phones are compared after the same normalization staging applies.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb

# base line table -> (column, identifier type) pairs it parsed from each line
BASE_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "base_crm__contact_lines": (("customer_id", "customer_id"), ("email", "email"), ("phone", "phone")),
    "base_web__event_lines": (("anonymous_id", "anonymous_id"), ("user_id", "customer_id")),
    "base_shop__order_lines": (("customer_id", "customer_id"), ("email", "email")),
}
ID_TYPES = ("customer_id", "email", "phone", "anonymous_id")
_EMAIL_LEFT, _EMAIL_RIGHT = r"(?<![a-z0-9._%+\-])", r"(?![a-z0-9\-]|\.[a-z0-9])"
_ID_LEFT, _ID_RIGHT = r"(?<![A-Za-z0-9_\-])", r"(?![A-Za-z0-9_\-])"
_PHONE_TOKEN = re.compile(r"[+(]?[0-9][0-9 ()./\-]{4,}[0-9]")


class ErasureError(RuntimeError):
    """The identifier is malformed or unknown, the warehouse is not in a state to erase from, or identifiers
    were still found after the erasure."""


@dataclass(frozen=True)
class Subject:
    """What an erasure request names: an e-mail or a CRM customer id, normalized as staging does."""

    id_type: str
    id_value: str

    @property
    def node_key(self) -> str:
        return f"{self.id_type}:{self.id_value}"


@dataclass
class Person:
    """The person behind a subject: person ids (current and earlier) and every identifier of theirs."""

    person_ids: list[str]
    identifiers: list[tuple[str, str]] = field(default_factory=list)

    def values(self, id_type: str) -> list[str]:
        return sorted({v for t, v in self.identifiers if t == id_type})

    @property
    def needles(self) -> list[str]:
        """Every value a leftover scan looks for: identifiers and person ids."""
        return sorted({v for _, v in self.identifiers} | set(self.person_ids))


def parse_subject(identifier: str) -> Subject:
    value = (identifier or "").strip()
    if len(value) < 3 or any(c in value for c in "\n\r\x00"):
        raise ErasureError(f"not an e-mail or customer id: {identifier!r}")
    return Subject("email", value.lower()) if "@" in value else Subject("customer_id", value)


def normalize_phone(value: str) -> str | None:
    """The staging rule (macro normalize_phone): a leading '(', '+' and '00' go, then every non-digit."""
    digits = re.sub(r"[^0-9]", "", re.sub(r"^[(]?[+]?(00)?", "", value.strip()))
    return f"+{digits}" if digits else None


def resolve(con: duckdb.DuckDBPyConnection, subject: Subject) -> Person:
    """The person the identity graph maps `subject` to (no person ids when it maps to none)."""
    persons = [r[0] for r in con.execute(
        "select distinct person_id from int_person_map where node_key = ?", [subject.node_key]).fetchall()]
    ids = {(subject.id_type, subject.id_value)}
    if not persons:
        return Person([], sorted(ids))
    history = [r[0] for r in con.execute(
        "select old_person_id from person_id_history where new_person_id in (select unnest(?::varchar[]))",
        [persons]).fetchall()]
    person_ids = set(persons + history)
    if _has_probabilistic_links(con, persons):
        # a probabilistic link is evidence of sameness, not proof: erase only what deterministic links tie to
        # the subject, and only the person ids anchored on those identifiers (the others stay with the rest)
        ids |= set(con.execute(_DETERMINISTIC_PART, [persons, subject.node_key]).fetchall())
        anchored = {_person_id_for(f"{t}:{v}") for t, v in ids}
        return Person(sorted(person_ids & anchored), sorted(ids))
    ids |= set(con.execute(
        "select id_type, id_value from int_person_map where person_id in (select unnest(?::varchar[])) "
        "and not is_guard_rejected", [persons]).fetchall())
    return Person(sorted(person_ids), sorted(ids))


# the subject's node and every node of its person reachable from it over deterministic links
_DETERMINISTIC_PART = """
    with recursive nodes as (
        select node_key, id_type, id_value, is_guard_rejected from int_person_map
        where person_id in (select unnest(?::varchar[]))
    ),
    edges as (
        select node_a, node_b from int_identity_edges_guarded
        where link_type <> 'probabilistic'
          and node_a in (select node_key from nodes) and node_b in (select node_key from nodes)
    ),
    reached(node_key) as (
        select ?::varchar
        union
        select case when edges.node_a = reached.node_key then edges.node_b else edges.node_a end
        from reached join edges on reached.node_key in (edges.node_a, edges.node_b)
    )
    select nodes.id_type, nodes.id_value from nodes join reached using (node_key) where not nodes.is_guard_rejected
"""


def _has_probabilistic_links(con: duckdb.DuckDBPyConnection, persons: list[str]) -> bool:
    return bool(con.execute("""
        select count(*) from int_identity_edges_guarded
        where link_type = 'probabilistic'
          and node_a in (select node_key from int_person_map where person_id in (select unnest(?::varchar[])))""",
        [persons]).fetchone()[0])


def _person_id_for(node_key: str) -> str:
    """The person id a component anchored on node_key gets (dbt macro person_id_for)."""
    return "p_" + hashlib.md5(node_key.encode(), usedforsecurity=False).hexdigest()[:16]


def plan_lines(con: duckdb.DuckDBPyConnection, person: Person) -> dict[str, list[int]]:
    """Landing lines (file -> sorted 1-based line numbers) that carry one of the person's identifiers."""
    con.execute("create or replace temp table erase_ids (id_type varchar, id_value varchar)")
    con.executemany("insert into erase_ids values (?, ?)", person.identifiers)
    parts = []
    for table, columns in BASE_TABLES.items():
        conds = " or ".join(f"{col} in (select id_value from erase_ids where id_type = '{kind}')"
                            for col, kind in columns)
        parts.append(f"select source_file, line_no from {table} where {conds}")
    parts.append("""select source_file, line_no from base_shop__order_item_lines where order_id in (
        select order_id from base_shop__order_lines
        where customer_id in (select id_value from erase_ids where id_type = 'customer_id')
           or email in (select id_value from erase_ids where id_type = 'email'))""")
    out: dict[str, set[int]] = {}
    for source_file, line_no in con.execute(" union ".join(parts)).fetchall():
        out.setdefault(source_file, set()).add(int(line_no))
    for source_file, line_no in _quarantined_lines(con, person):
        out.setdefault(source_file, set()).add(line_no)
    return {f: sorted(lines) for f, lines in sorted(out.items())}


def _quarantined_lines(con: duckdb.DuckDBPyConnection, person: Person) -> list[tuple[str, int]]:
    """Quarantined lines whose raw text holds an identifier as a whole token (they may not have parsed)."""
    prefilter = [v.lower() for t, v in person.identifiers if t != "phone"]
    prefilter += [re.sub(r"[^0-9]", "", v)[-4:] for v in person.values("phone")]
    prefilter = sorted({p for p in prefilter if p})
    if not prefilter:
        return []
    rows = con.execute(
        """select source_file, line_no, raw_line from int_quarantine_rows
           where raw_line is not null
             and list_has_any(list_transform(?::varchar[], lambda n: contains(lower(raw_line), n)), [true])""",
        [prefilter]).fetchall()
    matcher = text_matcher(person.identifiers)
    return [(f, int(n)) for f, n, line in rows if matcher(line)]


def text_matcher(identifiers: Iterable[tuple[str, str]]):
    """A predicate: does a text hold one of the identifiers as a whole token (phones after normalization)?"""
    emails = [v for t, v in identifiers if t == "email"]
    others = [v for t, v in identifiers if t in ("customer_id", "anonymous_id")]
    phones = {v for t, v in identifiers if t == "phone"}
    patterns = []
    if emails:
        patterns.append(re.compile(_EMAIL_LEFT + "(?:" + "|".join(map(re.escape, emails)) + ")" + _EMAIL_RIGHT))
    if others:
        patterns.append(re.compile(_ID_LEFT + "(?:" + "|".join(map(re.escape, others)) + ")" + _ID_RIGHT))

    def matches(text: str) -> bool:
        lowered = text.lower()
        if emails and patterns[0].search(lowered):
            return True
        if others and patterns[-1].search(text):
            return True
        return bool(phones) and any(normalize_phone(t) in phones for t in _PHONE_TOKEN.findall(text))

    return matches


def bytes_matcher(needles: Iterable[str]):
    """A predicate over file bytes: one of the needles as a whole token (case-insensitive)."""
    wanted = sorted({n.lower() for n in needles if len(n) >= 3})
    if not wanted:
        return lambda data: False
    pattern = re.compile(rb"(?<![a-z0-9._%+\-])(?:" + b"|".join(re.escape(n.encode()) for n in wanted)
                         + rb")(?![a-z0-9_\-]|\.[a-z0-9])")
    encoded = [n.encode() for n in wanted]

    def matches(data: bytes) -> bool:
        lowered = data.lower()
        return any(n in lowered for n in encoded) and pattern.search(lowered) is not None

    return matches
