"""The group PDF report of a study's results folder: grand averages, model results, baseline
levels, trait correlations and data quality. It reads results; it never fits a model."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .._files import read_tsv
from ..epochs.tables import read_trials
from ..errors import EmgkitError
from ..viz import group as vizgroup
from .pages import atomic_pdf, figure_page, short_table_pages, table_pages, tables_page, text_pages


def _stack(root, name):
    """Every ``sub-*/<name>.tsv`` of a results folder, stacked (empty when none)."""
    files = sorted(f for f in Path(root).glob(f"*/{name}.tsv")
                   if f.parent.name.startswith("sub-"))
    if not files:
        return pd.DataFrame()
    return pd.concat([read_tsv(f, what=f"{name} table") for f in files], ignore_index=True)


def read_run(path):
    """A results folder's ``run.json`` as a dict (empty when absent or unreadable)."""
    try:
        rec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return rec if isinstance(rec, dict) else {}


def _blinded(rec):
    """Whether the run's participants table was coded by ``emgkit blind``."""
    from .._files import blinded_codes

    table = rec.get("config", {}).get("study", {}).get("participants")
    folder = Path(rec.get("config_file", "")).parent
    return bool(table) and blinded_codes(folder / table) is not None


def config_orders(run, trials):
    """Muscle and condition orders: the config's (``run``: the path of ``run.json`` or its
    contents), then any others in order of appearance."""
    rec = run if isinstance(run, dict) else read_run(run)
    cfg = rec.get("config", {})
    muscles = list(cfg.get("channels", {}))
    conds = list(dict.fromkeys(cfg.get("events", {}).get("conditions", {}).values()))
    muscles += [m for m in pd.unique(trials["muscle"]) if m not in muscles]
    conds += [c for c in pd.unique(trials["condition"]) if c not in conds]
    return muscles, conds


def in_order(df, muscles, conditions):
    """Rows sorted (stably) by the given muscle and condition orders, where present."""
    if df is None or df.empty:
        return df
    keys = [(c, order) for c, order in (("muscle", muscles), ("condition", conditions))
            if c in df.columns]
    if not keys:
        return df
    ranks = {c: {v: i for i, v in enumerate(order)} for c, order in keys}
    return df.sort_values([c for c, _ in keys], kind="stable",
                          key=lambda col: col.map(ranks[col.name]).fillna(len(ranks[col.name])))\
        .reset_index(drop=True)


def group_report(results_dir, out, *, participants=None, mode=None, traits=(),
                 group_dir=None, blinded=None):
    """Write the group PDF from a results folder; it reads results and fits nothing.

    ``results_dir`` holds ``sub-<label>/trials.tsv``, ``timecourses.tsv`` and ``quality.tsv``
    (as ``emgkit run`` writes them) and ``group/`` with the model outputs of the study step
    (``emgkit run``) or of :func:`emgkit.stats.split.write_models` (``emgkit stats``). Without
    model outputs the report says so and shows the descriptive pages only.

    Parameters
    ----------
    results_dir : path-like
    out : path-like
        PDF written atomically.
    participants : path-like | DataFrame | None
        Participants table; default ``results_dir/participants.tsv``.
    mode : str | None
        Baseline mode for axis labels (read from ``run.json`` when present).
    traits : sequence of str
        Participants-table columns: one scatter page each (participant mean score per
        muscle × condition against the trait, with r and 95 % CI). The block-order balance
        table (``group/order_balance.tsv``) is shown when present.
    group_dir : path-like | None
        Folder with the group tables and model outputs (default ``results_dir/group``);
        its ``trials.tsv``/``timecourses.tsv`` are used when present, so only the
        participants of the group step are shown.
    blinded : bool | None
        Whether the group labels are ``emgkit blind`` codes (said on the first page); None
        reads it from the run's participants table.

    Returns
    -------
    pathlib.Path
    """
    root = Path(results_dir)
    gdir = Path(group_dir) if group_dir is not None else root / "group"
    trials = read_trials(gdir / "trials.tsv" if (gdir / "trials.tsv").is_file() else root)
    tcs = (read_trials(gdir / "timecourses.tsv") if (gdir / "timecourses.tsv").is_file()
           else _stack(root, "timecourses"))
    quality = _stack(root, "quality")
    if not quality.empty:
        quality = quality[quality["participant_id"].isin(set(trials["participant_id"]))]
    if participants is None:
        participants = root / "participants.tsv"
    if not isinstance(participants, pd.DataFrame):
        if not Path(participants).exists():
            raise EmgkitError(f"Participants table {participants} not found; pass "
                              f"--participants.")
        participants = read_tsv(participants, what="Participants table")
    run = read_run(root / "run.json")  # read once: mode, orders, blinding
    if mode is None:
        mode = run.get("config", {}).get("epochs", {}).get("baseline_mode")
    mode = mode or "ratio"
    # the model's outcome: z within participant × muscle when the run standardised scores
    standardised = run.get("config", {}).get("epochs", {}).get("standardise") \
        == "participant_muscle" or (gdir / "baselines.tsv").exists()
    outcome = "z within participant × muscle" if standardised else mode
    muscle_order, cond_order = config_orders(run, trials)  # the config's order on every page
    tables = {n: in_order(read_tsv(gdir / f"{n}.tsv", what="Model table"), muscle_order,
                          cond_order)
              for n in ("fixed_effects", "anova", "contrasts", "emmeans")
              if (gdir / f"{n}.tsv").exists()}
    trials = in_order(trials, muscle_order, cond_order)
    tcs = in_order(tcs, muscle_order, cond_order)
    kept = (trials.groupby("participant_id")["rejected"].agg(trials="size", rejected="sum")
            .reset_index())
    kept["kept"] = kept["trials"] - kept["rejected"]
    dq = kept.merge(participants[["participant_id", "group"]], on="participant_id", how="left")
    if not quality.empty:
        snr = quality.pivot_table(index="participant_id", columns="muscle", values="snr_db")
        snr = snr[[m for m in muscle_order if m in snr.columns]]
        snr.columns = [f"snr_db_{c}" for c in snr.columns]
        dq = dq.merge(snr.reset_index(), on="participant_id", how="left")
    groups = participants["group"].value_counts().to_dict()
    blinded = "blinded codes " if (_blinded(run) if blinded is None else blinded) else ""
    intro = [(None, f"Results folder: {root.resolve().name}\nParticipants: {len(dq)} "
                    f"({blinded}{', '.join(f'{g}: {n}' for g, n in groups.items())})\n"
                    f"Trials: {len(trials)} trial × muscle rows, {int(trials['rejected'].sum())}"
                    f" rejected\nBaseline mode: {mode}")]
    design = design_blocks(gdir, muscle_order)
    if design:
        intro += design
    elif (gdir / "summary.txt").exists() or any(gdir.glob("*/summary.txt")):
        sent = [p.read_text() for p in _in_muscle_order(gdir.glob("**/summary.txt"),
                                                        muscle_order)]
        intro.append(("Contrasts", "\n".join(sent)))
    if not tables:
        intro.append(("Model", f"No model results in {gdir.name}/: `emgkit run` fits the "
                               f"study's model; `emgkit stats` fits one to a trial table."))
    with atomic_pdf(out) as pdf:
        muscles = list(pd.unique(trials["muscle"]))
        pages = text_pages("emgkit group report", intro, landscape=True)  # all landscape
        if not tcs.empty:
            pages.append(figure_page("Grand-average time courses by group (mean ± SEM across "
                                     "participants)", vizgroup.plot_group_timecourses,
                                     len(pd.unique(tcs["muscle"])),
                                     len(pd.unique(tcs["condition"])), timecourses=tcs,
                                     participants=participants, mode=mode))
        if "emmeans" in tables:
            n_em = tables["emmeans"]["muscle"].nunique() if "muscle" in tables["emmeans"] else 1
            pages.append(figure_page("Estimated marginal means (95 % CI)",
                                     vizgroup.plot_emmeans, 1, n_em, reuse=True,
                                     emmeans=tables["emmeans"], ylabel=outcome))
        pages.append(figure_page("Raw baseline levels by group (tonic differences that ratio "
                                 "or z scores hide)", vizgroup.plot_baselines, 1, len(muscles),
                                 reuse=True, trials=trials, participants=participants))
        cautions = model_cautions(gdir, muscle_order)
        model = [(title, tables[name], cautions if name != "fixed_effects" else None)
                 for name, title in (("anova", "Type III tests (Satterthwaite df)"),
                                     ("contrasts", ("Contrasts (p Holm-adjusted over each "
                                                    "factor's rows, CIs unadjusted, effect "
                                                    "size in SD)")),
                                     ("fixed_effects", "Fixed effects")) if name in tables]
        # the Type III table shares a page with the contrasts, or else with the fixed
        # effects, rather than standing alone on a near-empty page
        for pair in ([0, 1], [0, 2]):
            if max(pair) >= len(model):
                continue
            both = tables_page("Model tests", [model[i] for i in pair], vertical=True,
                               fontsize=9.0, min_fontsize=6.5)
            if both is not None:
                pages.append(both)
                model = [m for i, m in enumerate(model) if i not in pair]
                break
        for title, table, note in model:
            pages += table_pages(title, table, note=note, landscape=True)
        if (gdir / "order_balance.tsv").exists():
            pages += table_pages("Block/session order by group (counterbalancing check)",
                                 read_tsv(gdir / "order_balance.tsv", what="Order table"),
                                 landscape=True)
        if (gdir / "baselines.tsv").exists():  # [epochs] standardise: what z-scores hide
            pages += table_pages(
                "Unstandardised levels by group (scores were z-scored within participant × "
                "muscle)", read_tsv(gdir / "baselines.tsv", what="Levels table").round(4),
                note="Means and SDs over participants of their mean baseline and response "
                     "levels (µV) and raw scores, kept trials only.", landscape=True)
        pages += _diagnostics_pages(gdir, muscle_order, outcome)
        pages += _trait_pages(trials, participants, traits, mode)
        pages += short_table_pages(
            "Data quality per participant", dq,
            note="trials: trial × muscle rows; rejected, kept: of them. snr_db_<muscle>: "
                 "activity-to-floor ratio, dB (10·log10 of the 95th over the 5th "
                 "percentile of the filtered signal's power in 0.5 s windows; the subject "
                 "reports' quality table)." if not quality.empty else None)
        for fig in pages:
            pdf.savefig(fig)
    return Path(out)


def _fits(gdir, muscles=()):
    """(name, fit.json contents) of every model in ``gdir``, in the muscles' order."""
    fits = _in_muscle_order(list(Path(gdir).glob("*/fit.json"))
                            or list(Path(gdir).glob("fit.json")), muscles)
    return [(path.parent.name if path.parent != Path(gdir) else "model",
             json.loads(path.read_text())) for path in fits]


_DESIGNS = {"between": "Between-participant design", "within": "Within-participant design",
            "mixed": "Mixed design", "none": "Design without factors"}


def design_blocks(gdir, muscles=()):
    """The first page's "Design" and "Main result" blocks, from the models' ``fit.json``
    (the design, the model and its contrasts in words, and the main contrasts' sentences:
    the group contrasts of a between or mixed design, the within-participant contrasts
    of a within design); an empty list for results without that record.

    Returns
    -------
    list of (heading, text)
    """
    fits = [(n, f) for n, f in _fits(gdir, muscles) if "design" in f]
    if not fits:
        return []
    first = fits[0][1]
    kinds = [f"between participants: {', '.join(first['between'])}" if first["between"]
             else "no between-participant factor",
             f"within participants: {', '.join(first['within'])}" if first["within"]
             else "no within-participant factor"]
    split = f" One model per {fits[0][0].split('-')[0]} ({len(fits)} models)." \
        if len(fits) > 1 else ""
    text = f"{_DESIGNS[first['design']]} ({'; '.join(kinds)}).{split} {first['methods']}"
    main = [line for _, fit in fits for line in fit.get("main_result", [])]
    return [("Design", text),
            ("Main result", "\n".join(main) or "The model has no contrasts to report "
                                                "(no group and no within-participant factor "
                                                "other than muscle).")]


def model_cautions(gdir, muscles=()):
    """One sentence per model fit (``fit.json``) that is singular or has a between-
    participant group under 5 participants; None when there is nothing to say."""
    out = []
    for name, fit in _fits(gdir, muscles):
        if fit.get("singular"):
            out.append(f"{name}: singular random-effects fit (a variance at 0 or a correlation"
                       f" at ±1); its tests lean on boundary estimates.")
        for factor, counts in (fit.get("small_groups") or {}).items():
            out.append(f"{name}: fewer than 5 participants in a level of {factor} ("
                       + ", ".join(f"{k}: {v}" for k, v in counts.items())
                       + "); little power, and the test leans on the random-intercept "
                         "variance.")
    return "Caution — " + " ".join(out) if out else None


def _in_muscle_order(paths, muscles):
    """Per-model files (``muscle-<name>/…``) in the config's muscle order."""
    rank = {f"muscle-{m}": i for i, m in enumerate(muscles)}
    return sorted(paths, key=lambda p: (rank.get(Path(p).parent.name, len(rank)), str(p)))


def _diagnostics_pages(gdir, muscles=(), unit=None):
    """The model diagnostics, one page per model in the config's muscle order: residuals
    against fitted values and normal Q-Q plots of the residuals and of the random
    intercepts, drawn as vector plots from ``residuals.tsv`` (results written before it
    existed show their ``diagnostics.png``)."""
    pages = []
    tables = {p.parent: p for p in Path(gdir).glob("**/residuals.tsv")}
    images = {p.parent: p for p in Path(gdir).glob("**/diagnostics.png")}
    for folder in _in_muscle_order([p / "x" for p in {**images, **tables}], muscles):
        folder = folder.parent
        where = folder.name if folder != Path(gdir) else "model"
        title = (f"Model diagnostics ({where}): residuals against fitted values, normal Q-Q "
                 f"plots of the residuals and of the participants' random intercepts")
        if folder in tables:
            table = read_tsv(tables[folder], what="Residuals table")
            pages.append(figure_page(title, vizgroup.plot_model_diagnostics, 1, 3,
                                     table=table, unit=unit, bottom=4.2, reuse=True))
        else:
            pages.append(_image_page(title.split(":")[0] + ": residuals against fitted "
                                     "values and their normal Q-Q plot", images[folder]))
    return pages


def _image_page(title, png):
    """A landscape page showing one PNG (diagnostics of results written by older
    versions)."""
    import matplotlib.image as mpimg

    from ..viz.style import HEADING, Figure

    fig = Figure(figsize=(11.69, 8.27), layout="constrained")
    a = fig.add_subplot()
    a.imshow(mpimg.imread(png))
    a.set_axis_off()
    fig.suptitle(title, fontsize=12, **HEADING)
    return fig


def _trait_pages(trials, participants, traits, mode):
    from ..stats.traits import participant_means, trait_correlations

    if not traits:
        return []
    missing = [t for t in traits if t not in participants.columns]
    if missing:
        raise EmgkitError(f"report.traits names {', '.join(missing)}, which the participants "
                          f"table does not have ({', '.join(map(str, participants.columns))}).")
    means = participant_means(trials)
    corr = trait_correlations(trials, participants, list(traits))
    pages = []
    for trait in traits:
        n_m, n_c = means["muscle"].nunique(), means["condition"].nunique()
        pages.append(figure_page(f"Mean response against {trait} (Pearson r, 95 % CI)",
                                 vizgroup.plot_trait_scatter, n_m, n_c, reuse=True, means=means,
                                 participants=participants, trait=trait, correlations=corr,
                                 ylabel=mode))
    pages += table_pages("Trait correlations", corr.round(4), landscape=True)
    return pages
