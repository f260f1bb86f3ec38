"""An in-memory index of one published serving file: key -> person -> ready-made JSON answer.

Built once per publish from the serving file (attached READ_ONLY, then closed): a per-request DuckDB query
costs about a millisecond of CPU, which alone would use both cores at 2,000 requests/s, while a lookup here
is an md5 and a binary search (microseconds). Memory stays small because answers are not stored per person:

* keys: md5 of `<key_type>:<key_value>` split into two sorted uint64 arrays (the second half confirms a
  match, so a false hit needs a 128-bit collision) and the row of the person;
* persons: the person ids (an Arrow string array) and three small integer codes into the distinct JSON
  fragments of segment, rule segments and active experiment variants (a few dozen distinct values each).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from segwarehouse.core.sql import literal
from segwarehouse.serving.person_keys import KEY_TYPES
from segwarehouse.serving.person_keys import TABLE as KEYS_TABLE

_ALIAS = "serving"

# one row per published person with integer codes of its segment, rule-segment set and active experiment arms;
# the JSON of each distinct code is rendered once (a few dozen values), not once per person
_PERSONS_SQL = f"""
create temp table _persons as
with rules as (
    select person_id, string_agg(segment_id, chr(31) order by segment_id) as rule_key
    from {_ALIAS}.segments.rule_segment_assignments
    group by person_id
),
experiments as (
    select person_id, string_agg(experiment || chr(31) || variant, chr(30) order by experiment) as experiment_key
    from {_ALIAS}.main.experiment_assignments
    where is_active
    group by person_id
),
persons as (
    select p.person_id, p.as_of_date, a.segment_id, a.segment_name, a.model_version,
           strftime(a.scored_at at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') as scored_at,
           coalesce(rules.rule_key, '') as rule_key, coalesce(experiments.experiment_key, '') as experiment_key
    from {_ALIAS}.main.user_profile_public p
    left join {_ALIAS}.segments.segment_assignments a on a.person_id = p.person_id
    left join rules on rules.person_id = p.person_id
    left join experiments on experiments.person_id = p.person_id
)
select row_number() over (order by person_id) - 1 as row_no, person_id, as_of_date,
       segment_id, segment_name, model_version, scored_at, rule_key, experiment_key,
       dense_rank() over (order by segment_id, segment_name, model_version, scored_at) - 1 as segment_code,
       dense_rank() over (order by rule_key) - 1 as rule_code,
       dense_rank() over (order by experiment_key) - 1 as experiment_code
from persons
"""

# md5_number is one 128-bit number; its low 64 bits are the first 8 digest bytes read little-endian
_KEYS_SQL = f"""
select (h & 18446744073709551615::uhugeint)::ubigint as hi, (h >> 64)::ubigint as lo, row_no
from (
    select md5_number(k.key_type || ':' || k.key_value) as h, p.row_no::int32 as row_no
    from {_ALIAS}.{KEYS_TABLE} k
    join _persons p on p.person_id = k.person_id
)
"""


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _fragments(con: duckdb.DuckDBPyConnection) -> dict[str, list[bytes]]:
    """The JSON of every distinct segment, rule-segment set and experiment-arm set, indexed by its code."""
    names = dict(con.execute(f"select segment_id, any_value(segment_name) from {_ALIAS}.segments."
                             "rule_segment_assignments group by segment_id").fetchall())
    segments = [b"null" if seg_id is None else _json(
        {"id": seg_id, "name": name, "model_version": version, "scored_at": scored})
        for seg_id, name, version, scored in con.execute(
            "select any_value(segment_id), any_value(segment_name), any_value(model_version), any_value(scored_at) "
            "from _persons group by segment_code order by segment_code").fetchall()]
    rules = [_json([{"id": r, "name": names.get(r, r)} for r in key.split(chr(31)) if r])
             for (key,) in con.execute("select any_value(rule_key) from _persons group by rule_code "
                                       "order by rule_code").fetchall()]
    experiments = [_json([dict(zip(("experiment", "variant"), e.split(chr(31)), strict=True))
                          for e in key.split(chr(30)) if e])
                   for (key,) in con.execute("select any_value(experiment_key) from _persons group by experiment_code "
                                             "order by experiment_code").fetchall()]
    return {"segment": segments, "rules": rules, "experiments": experiments}


def key_hash(key_type: str, key: str) -> tuple[int, int]:
    """The two halves of md5(`<key_type>:<key>`) as DuckDB's md5_number_upper / md5_number_lower give them."""
    digest = hashlib.md5(f"{key_type}:{key}".encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little")


@dataclass(frozen=True)
class Match:
    person_row: int
    key_types: tuple[str, ...]


class PersonIndex:
    """Answers for every person of one serving file; immutable once built (safe to share across threads)."""

    def __init__(self, *, hi: np.ndarray, lo: np.ndarray, rows: np.ndarray, person_ids: pa.Array,
                 codes: dict[str, np.ndarray], fragments: dict[str, list[bytes]], as_of_date: str | None,
                 source: Path, signature: tuple, seconds: float) -> None:
        self._hi, self._lo, self._rows = hi, lo, rows
        self._person_ids = person_ids
        self._codes, self._fragments = codes, fragments
        self.as_of_date = as_of_date
        self.source, self.signature, self.build_seconds = source, signature, seconds
        self.persons, self.keys = len(person_ids), len(hi)

    @classmethod
    def load(cls, serving: str | Path, signature: tuple = ()) -> PersonIndex:
        """Read the serving file (READ_ONLY, through a private in-memory DuckDB) into a new index."""
        started = time.perf_counter()
        serving = Path(serving)
        with duckdb.connect() as con:
            con.execute("set threads = 2")
            con.execute(f"attach {literal(str(serving))} as {_ALIAS} (read_only)")
            con.execute(_PERSONS_SQL)
            persons = con.sql("select person_id, segment_code::int32 as segment, rule_code::int32 as rules, "
                              "experiment_code::int32 as experiments from _persons order by row_no").to_arrow_table()
            fragments = _fragments(con)
            as_of = con.execute("select max(as_of_date)::varchar from _persons").fetchall()[0][0]
            keys = con.sql(_KEYS_SQL).to_arrow_table()
            con.execute(f"detach {_ALIAS}")
        hi = keys.column("hi").to_numpy().astype(np.uint64, copy=False)
        lo = keys.column("lo").to_numpy().astype(np.uint64, copy=False)
        rows = keys.column("row_no").to_numpy().astype(np.int32, copy=False)
        order = np.lexsort((lo, hi))
        codes = {c: persons.column(c).to_numpy().astype(np.int32, copy=False) for c in ("segment", "rules", "experiments")}
        return cls(hi=hi[order], lo=lo[order], rows=rows[order], person_ids=persons.column("person_id").combine_chunks(),
                   codes=codes, fragments=fragments, as_of_date=as_of, source=serving, signature=signature,
                   seconds=time.perf_counter() - started)

    def find(self, key: str, key_types: tuple[str, ...] = KEY_TYPES) -> list[Match]:
        """Persons whose key of one of `key_types` is `key` (one per person, with the types that matched)."""
        found: dict[int, list[str]] = {}
        for key_type in key_types:
            hi, lo = key_hash(key_type, key)
            hi64 = np.uint64(hi)
            i = int(np.searchsorted(self._hi, hi64))
            while i < len(self._hi) and self._hi[i] == hi64:
                if self._lo[i] == np.uint64(lo):
                    found.setdefault(int(self._rows[i]), []).append(key_type)
                i += 1
        return [Match(row, tuple(types)) for row, types in found.items()]

    def answer(self, match: Match) -> bytes:
        """The JSON body for one person (see `PersonSegments` in app.py)."""
        row = match.person_row
        return b"".join((
            b'{"person_id":', json.dumps(self._person_ids[row].as_py()).encode(),
            b',"matched_key_types":', json.dumps(list(match.key_types)).encode(),
            b',"segment":', self._fragments["segment"][self._codes["segment"][row]],
            b',"rule_segments":', self._fragments["rules"][self._codes["rules"][row]],
            b',"experiments":', self._fragments["experiments"][self._codes["experiments"][row]],
            b',"as_of_date":', json.dumps(self.as_of_date).encode(), b"}",
        ))
