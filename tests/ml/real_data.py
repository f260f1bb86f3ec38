"""Ground truth for the real-data check: which generator persona each warehouse person is.

Used by `test_real_data.py` and by hand on a larger warehouse (docs/ml.md, "Recovery of the planted personas"):

    python -m tests.ml.real_data /tmp/x/warehouse/segwarehouse.duckdb /tmp/x/truth

Mapping (the generator's `truth/identifiers.parquet` -> the warehouse's `int_person_map`):

* an identifier that belongs to more than one true person (shared phone, placeholder e-mail, shared device)
  says nothing about who someone is and is ignored;
* a warehouse person whose remaining identifiers all belong to ONE true person gets that person's persona;
  persons that mix several true persons (wrong merges) or none are left out;
* evaluated ("covered"): the person is registered in the warehouse (the CRM contact carries the whole
  customer: orders, logins, stitched devices), or the true person is an unregistered visitor (one device,
  so the anonymous id IS the whole person). Left out: anonymous device fragments of registered true
  persons that never logged in on that device. They hold a slice of someone's browsing and no orders,
  so no model can know their persona; they are still trained on and scored, just not judged;
* also left out: persons without any observed behaviour (no event and no order: `last_seen_at` null), i.e.
  a CRM contact whose browsing, if any, happened on devices never logged in. Whether such a contact is a
  lapsed customer or a registered browser cannot be told from the data (on 2000 x 60 days: 217 lapsed,
  75 browsers, 110 new users whose only trace is the sign-up).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

TRUTH_SQL = """
with ids as (
    select id_type || ':' || id_value as node_key, true_person_id
    from 'identifiers.parquet'
),
unambiguous as (
    select node_key, min(true_person_id) as true_person_id
    from ids
    group by node_key
    having count(distinct true_person_id) = 1
),
per_person as (
    select m.person_id, count(distinct u.true_person_id) as n_true, min(u.true_person_id) as true_person_id
    from int_person_map as m
    inner join unambiguous as u on u.node_key = m.node_key
    group by m.person_id
)
select
    p.person_id,
    p.is_registered,
    p.last_seen_at is not null as has_activity,
    coalesce(pp.n_true, 0) as n_true,
    case when pp.n_true = 1 then pp.true_person_id end as true_person_id,
    case when pp.n_true = 1 then t.persona end as persona,
    t.is_registered as true_is_registered
from dim_user_profile as p
left join per_person as pp on pp.person_id = p.person_id
left join 'persons.parquet' as t on t.true_person_id = pp.true_person_id and pp.n_true = 1
"""


def persona_truth(con: Any) -> pd.DataFrame:
    """One row per warehouse person: person_id, persona (or null), `covered` (evaluated) and `kind`.

    `con` is a connection to the warehouse with the truth folder as `file_search_path`.
    """
    t = con.execute(TRUTH_SQL).df()
    kind = np.select(
        [t["n_true"] > 1, t["n_true"] == 0,
         ~t["has_activity"].astype(bool),
         t["is_registered"].astype(bool),
         ~t["true_is_registered"].fillna(True).astype(bool)],
        ["merged", "unmapped", "no_activity", "registered", "anonymous_visitor"],
        default="device_fragment",
    )
    t["kind"] = kind
    t["covered"] = t["kind"].isin(["registered", "anonymous_visitor"])
    return t


@dataclass
class Recovery:
    ari: float
    coverage: float  # covered warehouse persons / all warehouse persons
    n_covered: int
    n_persons: int
    kinds: dict[str, int]
    crosstab: pd.DataFrame  # persona x segment_id on the covered persons


def persona_recovery(truth: pd.DataFrame, person_ids: Any, segment_ids: Any) -> Recovery:
    """ARI between the planted personas and the segments on the covered persons."""
    seg = pd.DataFrame({"person_id": np.asarray(person_ids), "segment_id": np.asarray(segment_ids)})
    both = truth.merge(seg, on="person_id", how="inner")
    covered = both[both["covered"]]
    ari = float(adjusted_rand_score(covered["persona"], covered["segment_id"]))
    return Recovery(ari=ari, coverage=len(covered) / max(len(both), 1), n_covered=len(covered),
                    n_persons=len(both), kinds=both["kind"].value_counts().to_dict(),
                    crosstab=pd.crosstab(covered["persona"], covered["segment_id"]))


def main(argv: list[str]) -> None:  # pragma: no cover - manual reproduction at larger scale
    import time

    import duckdb

    from ml.config_loader import load_config
    from ml.train import map_labels, read_training_frame, train_segmentation

    warehouse, truth_dir = argv[0], argv[1]
    cfg = load_config(argv[2] if len(argv) > 2 else None)
    con = duckdb.connect(warehouse, read_only=True)
    con.execute(f"SET file_search_path = '{truth_dir}'")
    truth = persona_truth(con)
    frame, n_pop = read_training_frame(con, cfg)
    start = time.perf_counter()
    fit = train_segmentation(frame, cfg, n_population=n_pop)
    seconds = time.perf_counter() - start
    segments = map_labels(np.asarray(fit.model.predict(frame[list(cfg.features.all)])), fit.segment_map)
    rec = persona_recovery(truth, frame[cfg.input.id_column], segments)
    print(f"k={fit.k} ARI={rec.ari:.3f} coverage={rec.coverage:.1%} ({rec.n_covered}/{rec.n_persons}) "
          f"kinds={rec.kinds} train={seconds:.1f}s")
    print(fit.candidates[["k", "silhouette", "bic", "min_segment_share", "selected"]].to_string(index=False))
    print(rec.crosstab.to_string())
    print(fit.profiles[["segment_id", "share", "buyer_share", "persona_name"]].to_string(index=False))


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
