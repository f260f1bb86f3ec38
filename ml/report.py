"""Static HTML segment report for one scoring run: `write_report(paths, run_id)`.

Reads the warehouse (READ_ONLY) and writes `<runs>/<run>/report/index.html`, one self-contained page
(figures are PNGs embedded as base64, also saved next to the page): segment table, segment sizes over
time (`segment_history`), feature z-scores per segment (`segment_profile_features`), a 2-D PCA projection
of a seeded sample in the champion model's standardized feature space, coloured by segment, the k-selection
curves of the model's training run (`model_selection`), bootstrap stability per segment
(`model_stability`), drift against the previous run (`drift_metrics`) and, when experiments ran, the lift
and 95 % interval of each experiment per segment (`experiments.results`, ml/experiment_report.py).
"""

from __future__ import annotations

import base64
import html
import io
import logging
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segwarehouse.core.paths import Paths, run_folder_name

log = logging.getLogger(__name__)

PCA_SAMPLE_ROWS = 3000
HISTORY_RUNS = 30
SEED = 42
_PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
            "#9c755f", "#bab0ac", "#86bcb6", "#d37295"]
_STATUS_COLOURS = {"ok": "#59a14f", "stable": "#59a14f", "warn": "#edc948", "doubtful": "#edc948",
                   "alert": "#e15759", "unstable": "#e15759"}


def report_path(paths: Paths, run_id: str) -> Path:
    return paths.runs / run_folder_name(run_id, "score") / "report" / "index.html"


def write_report(paths: Paths, run_id: str, *, schema: str | None = None) -> Path:
    """Write the HTML report of scoring run `run_id` and return its path."""
    if schema is None:
        from ml.config_loader import load_config

        schema = load_config(for_scoring=True).input.output_schema
    out = report_path(paths, run_id)
    out.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        data = _load(con, schema, run_id)
        if data["profiles"].empty:
            raise ValueError(f"no segment profiles for run {run_id!r} in {schema}.segment_profiles")
        colours = _colours(data["profiles"]["segment_id"])
        pca_png, projection = _fig_pca(con, schema, run_id, data, colours)
        figures = [
            ("sizes", "Segment sizes over time", _fig_sizes(data["history"], colours),
             "Persons per segment in each scoring run (segment_history), last "
             f"{HISTORY_RUNS} runs; this run on the right."),
            ("zscores", "Feature z-scores per segment", _fig_heatmap(data["features"], data["profiles"]),
             "Segment mean minus population mean, in population standard deviations "
             "(segment_profile_features). Red: above average, blue: below."),
            ("pca", "2-D PCA projection", pca_png,
             f"A seeded sample of up to {PCA_SAMPLE_ROWS:,} persons in the model's standardized feature space "
             f"({projection}), projected on its first two principal components, coloured by assigned segment."),
            ("selection", "Choosing k", _fig_selection(data["selection"]),
             "Candidates of the model's training run (model_selection): silhouette (higher is better), "
             "inertia (elbow) and BIC (mixtures, lower is better); the dashed line marks the chosen k."),
            ("stability", "Stability per segment", _fig_stability(data["stability"], data["profiles"], colours),
             "Bootstrap mean Jaccard per segment (bar) and its minimum (dot): >= 0.75 stable, "
             "0.6-0.75 doubtful, < 0.6 unstable (Hennig)."),
            ("drift", "Drift against the previous run", _fig_drift(data["drift"]),
             "Population stability index per feature and of the segment shares: < 0.1 ok, 0.1-0.25 warn, "
             "> 0.25 alert."),
        ]
        experiment_png = _fig_experiments(con)
        if experiment_png is not None:
            from ml.experiment_report import CAPTION

            figures.append(("experiments", "Experiments: lift per segment", experiment_png, CAPTION))
    for key, _, png, _ in figures:
        (out.parent / f"{key}.png").write_bytes(png)
    out.write_text(_html(run_id, data, figures), encoding="utf-8")
    log.info("wrote segment report %s", out)
    return out


def _load(con: duckdb.DuckDBPyConnection, schema: str, run_id: str) -> dict[str, Any]:
    s = f'"{schema}"'
    profiles = con.execute(f"select * from {s}.segment_profiles where run_id = ? order by segment_id",
                           [run_id]).df()
    version = profiles["model_version"].iloc[0] if not profiles.empty else None
    history = con.execute(f"""
        with runs as (select run_id, max(scored_at) as scored_at from {s}.segment_history
                      group by run_id order by scored_at desc limit {HISTORY_RUNS})
        select h.run_id, runs.scored_at, h.segment_id, any_value(h.segment_name) as segment_name,
               count(*) as size
        from {s}.segment_history h join runs using (run_id)
        group by all order by runs.scored_at, h.segment_id""").df()
    training = con.execute(f"select run_id from {s}.model_registry where model_version = ?", [version]).fetchone()
    train_run = training[0] if training else None
    return {
        "version": version,
        "train_run": train_run,
        "profiles": profiles,
        "history": history,
        "features": con.execute(f"select * from {s}.segment_profile_features where run_id = ?", [run_id]).df(),
        "selection": con.execute(f"select * from {s}.model_selection where run_id = ? and model_version = ? "
                                 "order by k", [train_run, version]).df(),
        "stability": con.execute(f"select * from {s}.model_stability where run_id = ? and model_version = ? "
                                 "order by segment_id", [train_run, version]).df(),
        "drift": con.execute(f"select * from {s}.drift_metrics where run_id = ? order by kind desc, psi desc",
                             [run_id]).df(),
        "registry": con.execute(f"select k, algorithm, decision, metrics from {s}.model_registry "
                                "where model_version = ?", [version]).df(),
    }


def _colours(segment_ids: pd.Series) -> dict[int, str]:
    return {int(s): _PALETTE[i % len(_PALETTE)] for i, s in enumerate(sorted(segment_ids.astype(int)))}


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _empty(message: str) -> bytes:
    fig = Figure(figsize=(8, 1.6))
    ax = fig.subplots()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="#555")
    return _png(fig)


def _fig_sizes(history: pd.DataFrame, colours: dict[int, str]) -> bytes:
    if history.empty:
        return _empty("no segment history yet")
    table = history.pivot_table(index=["scored_at", "run_id"], columns="segment_id", values="size",
                                aggfunc="sum", fill_value=0).sort_index()
    names = history.drop_duplicates("segment_id", keep="last").set_index("segment_id")["segment_name"]
    labels = [f"{pd.Timestamp(ts):%Y-%m-%d %H:%M:%S}\n{_tail(run, 22)}" for ts, run in table.index]
    fig = Figure(figsize=(11, 4.2))
    ax = fig.subplots()
    x = np.arange(len(table))
    bottom = np.zeros(len(table))
    for seg in table.columns:
        values = table[seg].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, color=colours.get(int(seg), "#999"), width=0.6,
               label=f"{seg}: {names.get(seg, seg)}")
        bottom += values
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("persons")
    ax.set_xlim(-0.7, len(table) - 0.3 + (2.2 if len(table) < 4 else 0))
    ax.legend(fontsize=8, loc="upper right", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def _fig_heatmap(features: pd.DataFrame, profiles: pd.DataFrame) -> bytes:
    if features.empty:
        return _empty("no segment feature profile for this run")
    # a feature no member of the segment has (e.g. order value of never-buyers) is n/a, not "average"
    features = features.assign(z_score=features["z_score"].where(features["segment_mean"].notna()))
    z = features.pivot_table(index="segment_id", columns="feature", values="z_score", aggfunc="mean",
                             dropna=False)
    names = profiles.set_index("segment_id")["segment_name"]
    fig = Figure(figsize=(11, 0.6 * len(z) + 2.2))
    ax = fig.subplots()
    limit = max(1.0, float(np.nanmax(np.abs(z.to_numpy()))) if z.size else 1.0)
    image = ax.imshow(z.to_numpy(dtype=float), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(z.shape[1]), [c.replace("_", " ") for c in z.columns], rotation=30, ha="right", fontsize=9)
    ax.set_yticks(range(z.shape[0]), [f"{s}: {names.get(s, s)}" for s in z.index], fontsize=9)
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            value = z.iat[i, j]
            if pd.notna(value):
                ax.text(j, i, f"{value:+.1f}", ha="center", va="center", fontsize=8,
                        color="white" if abs(value) > 0.6 * limit else "black")
            else:
                ax.text(j, i, "n/a", ha="center", va="center", fontsize=8, color="#888")
    fig.colorbar(image, ax=ax, label="z-score", fraction=0.03, pad=0.02)
    return _png(fig)


def _projection_frame(con: duckdb.DuckDBPyConnection, schema: str, run_id: str,
                      version: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    """(standardized features of a seeded sample, their segment ids, how they were standardized)."""
    from ml.config_loader import load_config

    cfg = load_config(for_scoring=True)
    rel = '"' + cfg.input.relation.replace(".", '"."') + '"'
    idc = cfg.input.id_column
    sample = con.execute(f"""
        select p.*, h.segment_id as _segment_id
        from {rel} p join "{schema}".segment_history h on h.person_id = p."{idc}" and h.run_id = ?
        using sample reservoir({PCA_SAMPLE_ROWS} rows) repeatable ({SEED})""", [run_id]).df()
    if sample.empty:
        return np.empty((0, 2)), np.empty(0), ""
    segments = sample["_segment_id"].fillna(-1).to_numpy(dtype=int)  # -1: left unassigned (density models)
    try:
        from ml.registry import load_registered_model

        model, _ = load_registered_model(con, schema, version)
        columns = list(getattr(model[0], "feature_names_in_", cfg.features.all))
        Z = np.asarray(model[:-1].transform(sample[columns]), dtype=float)
        how = f"the champion's preprocessing ({version})"
    except Exception as exc:  # artifact missing or unreadable: fall back to standardized profile features
        log.warning("report: cannot use model %s for the projection (%s); using standardized features", version, exc)
        cols = [c for c in cfg.features.numeric_all if c in sample]
        X = sample[cols].apply(pd.to_numeric, errors="coerce").astype(float)
        X = np.log1p(X.clip(lower=0)).fillna(X.median()).fillna(0.0)
        Z = ((X - X.mean()) / X.std(ddof=0).replace(0, 1)).to_numpy()
        how = "log1p + standardized profile features (model artifact unavailable)"
    return Z, segments, how


def _fig_pca(con: duckdb.DuckDBPyConnection, schema: str, run_id: str, data: dict[str, Any],
             colours: dict[int, str]) -> tuple[bytes, str]:
    from sklearn.decomposition import PCA

    Z, segments, how = _projection_frame(con, schema, run_id, data["version"])
    if len(Z) < 3:
        return _empty("too few scored persons for a projection"), "no sample"
    pca = PCA(n_components=2, random_state=SEED)
    P = pca.fit_transform(Z)
    names = data["profiles"].set_index("segment_id")["segment_name"]
    fig = Figure(figsize=(11, 6.5))
    ax = fig.subplots()
    ids, counts = np.unique(segments, return_counts=True)
    for seg in ids[np.argsort(-counts, kind="stable")]:  # small segments drawn last, on top
        mask = segments == seg
        small = mask.sum() < 0.08 * len(segments)  # small segments: bigger, opaque dots so they stay visible
        ax.scatter(P[mask, 0], P[mask, 1], s=18 if small else 9, alpha=0.9 if small else 0.5,
                   color=colours.get(int(seg), "#999"), linewidths=0,
                   label=f"{seg}: {names.get(seg, 'unassigned' if seg == -1 else seg)} (n={mask.sum()})")
    ratio = pca.explained_variance_ratio_
    ax.set_xlabel(f"PC1 ({ratio[0]:.0%} of variance)")
    ax.set_ylabel(f"PC2 ({ratio[1]:.0%} of variance)")
    ax.set_title(f"{len(Z):,} persons", fontsize=9, color="#555")
    handles, labels = ax.get_legend_handles_labels()
    order = np.argsort([int(label.split(":", 1)[0]) for label in labels])
    ax.legend([handles[i] for i in order], [labels[i] for i in order], fontsize=8, markerscale=2, frameon=False,
              loc="best")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig), how


def _fig_selection(selection: pd.DataFrame) -> bytes:
    if selection.empty:
        return _empty("no k-selection candidates recorded for this model")
    panels = [(c, label) for c, label in (("silhouette", "silhouette (max)"), ("inertia", "inertia (elbow)"),
                                           ("bic", "BIC (min)")) if selection[c].notna().any()]
    fig = Figure(figsize=(11, 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    chosen = selection.loc[selection["selected"].fillna(False).astype(bool), "k"]
    for ax, (column, label) in zip(axes, panels, strict=True):
        ax.plot(selection["k"], selection[column], marker="o", color="#4e79a7")
        for k in chosen:
            ax.axvline(k, color="#e15759", linestyle="--", linewidth=1)
        knee = selection.loc[selection["is_knee"].fillna(False).astype(bool), "k"]
        if column == "inertia" and not knee.empty:
            ax.annotate("knee", (knee.iloc[0], selection.set_index("k").at[knee.iloc[0], column]),
                        textcoords="offset points", xytext=(8, 8), fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("k")
        ax.set_xticks(selection["k"])
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _png(fig)


def _fig_stability(stability: pd.DataFrame, profiles: pd.DataFrame, colours: dict[int, str]) -> bytes:
    if stability.empty:
        return _empty("no stability measurement for this model")
    names = profiles.set_index("segment_id")["segment_name"]
    stability = stability.sort_values("segment_id")
    fig = Figure(figsize=(11, 3.8))
    ax = fig.subplots()
    x = np.arange(len(stability))
    ax.bar(x, stability["mean_jaccard"], color=[_STATUS_COLOURS.get(s, "#999") for s in stability["status"]],
           width=0.6)
    ax.scatter(x, stability["min_jaccard"], color="black", zorder=3, s=18, label="minimum over bootstraps")
    ax.axhline(0.75, color="#59a14f", linestyle="--", linewidth=1, label="stable (0.75)")
    ax.axhline(0.6, color="#e15759", linestyle="--", linewidth=1, label="unstable below (0.6)")
    for xi, (value, status) in enumerate(zip(stability["mean_jaccard"], stability["status"], strict=True)):
        ax.text(xi, value + 0.02, f"{value:.2f}\n{status}", ha="center", fontsize=8)
    ax.set_xticks(x, [f"{s}\n{textwrap.fill(str(names.get(s, s)), 20)}" for s in stability["segment_id"]],
                  fontsize=8)
    ax.set_ylim(0, 1.18)
    ax.set_ylabel("mean Jaccard")
    ari = stability["ari_median"].dropna()
    if not ari.empty:
        ax.set_title(f"median bootstrap ARI {ari.iloc[0]:.3f} over {int(stability['n_bootstrap'].iloc[0])} "
                     "resamples", fontsize=9, color="#555")
    ax.legend(fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def _fig_drift(drift: pd.DataFrame) -> bytes:
    if drift.empty:
        return _empty("no drift measured: this is the first scoring run (no reference run)")
    drift = drift.sort_values(["kind", "psi"], ascending=[True, True])
    fig = Figure(figsize=(11, 0.32 * len(drift) + 1.6))
    ax = fig.subplots()
    y = np.arange(len(drift))
    ax.barh(y, drift["psi"].fillna(0), color=[_STATUS_COLOURS.get(s, "#999") for s in drift["status"]])
    top = max(0.3, float(drift["psi"].max()) * 1.15 if drift["psi"].notna().any() else 0.3)
    ax.axvline(0.1, color="#edc948", linestyle="--", linewidth=1)
    ax.axvline(0.25, color="#e15759", linestyle="--", linewidth=1)
    for yi, (value, status) in enumerate(zip(drift["psi"], drift["status"], strict=True)):
        ax.text((0 if pd.isna(value) else value) + top * 0.01, yi, f"{value:.3f} {status}", va="center", fontsize=8)
    labels = ["segment shares" if k == "segment_share" else n for k, n in zip(drift["kind"], drift["name"],
                                                                               strict=True)]
    for threshold, label in ((0.1, "warn"), (0.25, "alert")):
        ax.text(threshold, len(drift) - 0.4, f" {label}", fontsize=8, color="#555", va="bottom")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, top)
    ax.set_xlabel("PSI")
    ax.set_title(f"reference run {drift['reference_run_id'].iloc[0]}", fontsize=9, color="#555")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def _fig_experiments(con: duckdb.DuckDBPyConnection) -> bytes | None:
    from ml.experiment_report import figure, load_results

    return figure(load_results(con))


def _short(text: Any, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _tail(text: Any, n: int) -> str:
    text = str(text)
    return text if len(text) <= n else "…" + text[-(n - 1):]


def _segment_table(profiles: pd.DataFrame) -> str:
    rows = "".join(
        f"<tr><td>{int(r.segment_id)}</td><td>{html.escape(str(r.segment_name))}</td>"
        f"<td class=n>{int(r.size):,}</td><td class=n>{r.share:.1%}</td>"
        f"<td class=n>{'' if pd.isna(r.buyer_share) else f'{r.buyer_share:.0%}'}</td>"
        f"<td>{html.escape(str(r.top_traits or ''))}</td></tr>"
        for r in profiles.itertuples())
    return ("<table><tr><th>id</th><th>segment</th><th>size</th><th>share</th><th>buyers</th>"
            f"<th>strongest traits</th></tr>{rows}</table>")


def _html(run_id: str, data: dict[str, Any], figures: list[tuple[str, str, bytes, str]]) -> str:
    profiles = data["profiles"]
    first = profiles.iloc[0]
    reg = data["registry"]
    model = (f"{html.escape(str(reg['algorithm'].iloc[0]).rsplit('.', 1)[-1])}, k = {int(reg['k'].iloc[0])}"
             if not reg.empty else "")
    alerts = data["drift"].loc[data["drift"]["status"] == "alert", "name"].tolist() if not data["drift"].empty else []
    facts = [("scoring run", run_id), ("model", f"{data['version']} ({model})"),
             ("training run", data["train_run"] or "unknown"), ("as of", str(first["as_of_date"])[:10]),
             ("scored at", str(first["scored_at"])[:19]), ("persons", f"{int(profiles['size'].sum()):,}"),
             ("segments", str(len(profiles))),
             ("drift reference run", str(data["drift"]["reference_run_id"].iloc[0]) if not data["drift"].empty
              else "none (first scoring run)"),
             ("drift alerts", ", ".join(alerts) or "none")]
    sections = "".join(
        f'<section id="{key}"><h2>{html.escape(title)}</h2><p class=cap>{html.escape(caption)}</p>'
        f'<img alt="{html.escape(title)}" src="data:image/png;base64,{base64.b64encode(png).decode()}"></section>'
        for key, title, png, caption in figures)
    fact_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Segment report {html.escape(run_id)}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1240px;
       color: #222; padding: 0 16px; }}
h1 {{ font-size: 22px; margin-bottom: 4px; }} h2 {{ font-size: 17px; margin: 28px 0 4px; }}
table {{ border-collapse: collapse; font-size: 13px; margin: 8px 0; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
.facts th {{ color: #666; font-weight: normal; }}
.cap {{ color: #555; font-size: 13px; margin: 2px 0 8px; }}
img {{ max-width: 100%; border: 1px solid #eee; }}
footer {{ color: #888; font-size: 12px; margin-top: 32px; }}
</style></head><body>
<h1>Segment report</h1>
<table class=facts>{fact_rows}</table>
<h2>Segments</h2>
{_segment_table(profiles)}
{sections}
<footer>generated {generated} by ml.report from the warehouse tables segments.*</footer>
</body></html>
"""
