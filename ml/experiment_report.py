"""The experiments section of the HTML segment report: lift and 95 % interval per segment and arm.

Reads the latest results of every experiment (`experiments.results`, written by segwarehouse.experiments)
with SQL only, so the report does not depend on the experiment code.
"""

from __future__ import annotations

import io

import duckdb
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

_QUERY = """
select r.experiment, r.segment_type, r.segment_id, r.segment_name, r.variant, r.metric, r.persons,
       r.rate, r.abs_lift, r.abs_lift_ci_low, r.abs_lift_ci_high, r.is_significant, r.is_too_small, r.is_srm,
       r.as_of_date, r.is_final
from experiments.results r
join (select experiment, arg_max(run_id, computed_at) as run_id from experiments.results group by experiment) l
    on l.experiment = r.experiment and l.run_id = r.run_id
where r.is_primary and not r.is_control
order by r.experiment, r.variant, r.segment_type = 'all', r.segment_id
"""


def load_results(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Latest primary-metric comparisons of every experiment (empty when there are none)."""
    has = con.execute("select count(*) from information_schema.tables where table_schema = 'experiments' "
                      "and table_name = 'results'").fetchone()[0]
    return con.execute(_QUERY).df() if has else pd.DataFrame()


def figure(results: pd.DataFrame) -> bytes | None:
    """One panel per experiment: absolute lift over the control with its interval, per segment and arm."""
    if results.empty:
        return None
    experiments = list(dict.fromkeys(results["experiment"]))
    heights = [max(2.0, 0.42 * len(results[results["experiment"] == e]) + 1.2) for e in experiments]
    fig = Figure(figsize=(11, sum(heights)))
    axes = np.atleast_1d(fig.subplots(len(experiments), 1, gridspec_kw={"height_ratios": heights}))
    for ax, name in zip(axes, experiments, strict=True):
        rows = results[results["experiment"] == name].reset_index(drop=True)
        y = np.arange(len(rows))[::-1]
        for yi, row in zip(y, rows.itertuples(), strict=True):
            colour = "#999" if row.is_too_small else ("#59a14f" if row.is_significant else "#4e79a7")
            if pd.notna(row.abs_lift_ci_low) and pd.notna(row.abs_lift_ci_high):
                ax.plot([row.abs_lift_ci_low, row.abs_lift_ci_high], [yi, yi], color=colour, linewidth=2.5)
            if pd.notna(row.abs_lift):
                ax.scatter([row.abs_lift], [yi], color=colour, zorder=3, s=30,
                           marker="D" if row.segment_type == "all" else "o")
        ax.axvline(0, color="#333", linewidth=0.8)
        labels = [f"{r.variant} · {'all segments' if r.segment_type == 'all' else f'{r.segment_id}: {r.segment_name}'}"
                  f"  (n={int(r.persons):,})" for r in rows.itertuples()]
        ax.set_yticks(y, labels, fontsize=8)
        metric = rows["metric"].iloc[0]
        notes = []
        if rows["is_srm"].any():
            notes.append("SAMPLE RATIO MISMATCH")
        if not rows["is_final"].all():
            notes.append("interim")
        ax.set_title(f"{name}: {metric}, absolute lift over control, as of {str(rows['as_of_date'].iloc[0])[:10]}"
                     + (f" [{', '.join(notes)}]" if notes else ""), fontsize=10)
        ax.xaxis.set_major_formatter(lambda v, _: f"{v:+.0%}" if abs(v) >= 0.01 or v == 0 else f"{v:+.1%}")
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


CAPTION = ("Primary metric of each experiment's latest refresh: absolute lift of each arm over the control per "
           "segment (the segment at assignment) with its 95 % interval; diamond = all segments pooled. Green: "
           "significant after Holm's correction over the experiment's comparisons; grey: too small to read.")
