"""PDF reports: one per recording (quality control + responses) and one per study."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import vizgroup, vizqc
from ._atomic import sha256
from .config import Config, load_config
from .errors import EmgkitError
from .methods import methods_text
from .reportpages import atomic_pdf, figure_page, table_pages, text_page


def _group_of(config, participant_id):
    if config.report_blinded:
        return "blinded"
    part = config.study.get("participants")
    if not part:
        return "unknown (no [study] participants table)"
    path = config.resolve(part)
    if not path.exists():
        return f"unknown ({path.name} not found)"
    table = pd.read_csv(path, sep="\t", dtype={"participant_id": str})
    row = table[table["participant_id"].astype(str) == participant_id]
    return str(row["group"].iloc[0]) if len(row) and "group" in row else "unknown"


def rejection_counts(trials):
    """Trials, rejected and kept per condition × muscle."""
    g = trials.groupby(["condition", "muscle"], sort=False)["rejected"]
    out = g.agg(trials="size", rejected="sum").reset_index()
    out["kept"] = out["trials"] - out["rejected"]
    return out


def subject_report(recording, config, out, *, result=None):
    """Write the per-recording PDF report.

    Parameters
    ----------
    recording : path-like
        The EDF/BDF file.
    config : Config | path-like
        Study config (``[report] blinded = true`` hides the group).
    out : path-like
        The PDF to write (atomically: a failure leaves no partial file).
    result : ProcessedRecording | None
        An already processed recording (with ``keep_continuous=True``); None processes it.

    Returns
    -------
    pathlib.Path
        The PDF.
    """
    from . import __version__
    from .pipeline import process_recording

    if not isinstance(config, Config):
        config = load_config(config)
    if result is None or result.envelope is None:
        result = process_recording(recording, config, keep_continuous=True)
    rec = Path(recording)
    pid = result.participant_id
    chans = ", ".join(f"{m}: {a}" + (f" − {c}" if c else "")
                      for m, (a, c) in result.channels.items())
    header = "\n".join("  " + line for line in [
        f"Participant:      {pid}",
        f"Group:            {_group_of(config, pid)}",
        f"File:             {rec.name}",
        f"sha256:           {sha256(rec)}",
        f"Recording date:   {result.meas_date}",
        f"Duration:         {result.duration:.1f} s",
        f"Sampling rate:    {result.sfreq:g} Hz",
        f"Channels:         {chans}",
        f"Trials:           {len(result.events)} "
        f"({', '.join(f'{c}: {n}' for c, n in result.events['condition'].value_counts().items())})",
        f"emgkit:           {__version__}",
        f"Config:           {config.path.name if config.path else '-'} (sha256 {config.digest()})",
    ])
    q = result.quality["summary"] if result.quality else pd.DataFrame()
    qtext = q.to_string(index=False, float_format=lambda v: f"{v:.3g}") if len(q) else "-"
    notes = []
    for _, r in q.iterrows():
        if r["kept"] == 0:
            notes.append(f"{r['muscle']}: no usable trials.")
        if r["saturated_s"] > 0 or r["flat_s"] > 0:
            notes.append(f"{r['muscle']}: {r['flat_s']:.2f} s flat, {r['saturated_s']:.2f} s "
                         f"saturated.")
    if result.quality and result.quality["cms_spans"]:
        notes.append(f"BioSemi CMS out of range for {q['cms_out_s'].iloc[0]:.2f} s.")
    counts = rejection_counts(result.trials)
    empty = counts[counts["kept"] == 0]
    for _, r in empty.iterrows():
        notes.append(f"No usable trials for {r['condition']} × {r['muscle']}.")
    blocks = [(None, header), ("Signal quality", "  " + qtext.replace("\n", "\n  ")),
              ("Notes", "\n".join(notes) or "No flat, saturated or CMS problems found."),
              ("Methods", methods_text(config, result.sfreq))]
    rejected = result.trials[result.trials["rejected"]][
        ["trial", "condition", "muscle", "onset_s", "reject_reason"]]
    with atomic_pdf(out) as pdf:
        n = len(result.muscles)
        pages = [text_page(f"emgkit report — {pid}", blocks)]
        pages.append(figure_page("Raw and filtered signal", vizqc.plot_raw_excerpt, n,
                                 result=result))
        pages.append(figure_page("Spectra before and after filtering", vizqc.plot_psd, n,
                                 result=result))
        pages.append(figure_page("Whole session", vizqc.plot_session, n, result=result))
        pages.append(figure_page("Average response (mean ± SEM, kept trials)",
                                 result.plot_average, 1, n))
        pages.append(figure_page("Single trials (baseline-corrected)",
                                 vizqc.plot_trial_images, 1, n, result=result))
        pages.append(figure_page("Trial scores (hollow: rejected)", vizqc.plot_scores, 1, n,
                                 result=result))
        pages += table_pages("Trial rejection: counts", counts)
        pages += table_pages("Rejected trials", rejected.round(3),
                             note="Reasons: flat / saturated input channel, baseline_outlier,"
                                  " response_outlier, outside_recording.")
        for fig in pages:
            pdf.savefig(fig)
    return Path(out)


def _read_stack(folder, name):
    files = sorted(f for f in Path(folder).glob(f"*/{name}.tsv")
                   if f.parent.name != "group" and not f.parent.name.startswith("."))
    if not files:
        return pd.DataFrame()
    return pd.concat([pd.read_csv(f, sep="\t", dtype={"participant_id": str},
                                  keep_default_na=False, na_values=["", "n/a", "nan"])
                      for f in files], ignore_index=True)


def _read_group(gdir, name):
    path = Path(gdir) / f"{name}.tsv"
    if not path.is_file():
        return None
    return pd.read_csv(path, sep="\t", dtype={"participant_id": str}, keep_default_na=False,
                       na_values=["", "nan", "n/a"])


def group_report(results_dir, out, *, participants=None, formula="score ~ group * condition",
                 mode=None, traits=(), group_dir=None):
    """Write the group PDF from a results folder.

    ``results_dir`` holds ``<participant>/trials.tsv``, ``timecourses.tsv`` and ``quality.tsv`` (as
    ``emgkit run`` writes them) and ``group/`` with the model outputs; when ``group/`` has
    no ``fixed_effects.tsv`` the model ``formula`` is fitted here (per muscle).

    Parameters
    ----------
    results_dir : path-like
    out : path-like
        PDF written atomically.
    participants : path-like | DataFrame | None
        Participants table; default ``results_dir/participants.tsv``.
    formula : str
        Model to fit when the folder has no model outputs.
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

    Returns
    -------
    pathlib.Path
    """
    from .stats.study import fit_models, write_models

    root = Path(results_dir)
    gdir = Path(group_dir) if group_dir is not None else root / "group"
    trials = _read_group(gdir, "trials")
    if trials is None:
        trials = _read_stack(root, "trials")
    if trials.empty:
        raise EmgkitError(f"{root}: no <participant>/trials.tsv found; run `emgkit run` or "
                          f"`emgkit process` first.")
    trials["rejected"] = trials["rejected"].astype(str).str.lower().isin(["true", "1"])
    tcs = _read_group(gdir, "timecourses")
    tcs = _read_stack(root, "timecourses") if tcs is None else tcs
    quality = _read_stack(root, "quality")
    if not quality.empty:
        quality = quality[quality["participant_id"].isin(set(trials["participant_id"]))]
    if participants is None:
        participants = root / "participants.tsv"
    if not isinstance(participants, pd.DataFrame):
        if not Path(participants).exists():
            raise EmgkitError(f"Participants table {participants} not found; pass "
                              f"--participants.")
        participants = pd.read_csv(participants, sep="\t", dtype={"participant_id": str})
    run = root / "run.json"
    if mode is None and run.exists():
        mode = json.loads(run.read_text()).get("config", {}).get("epochs", {}).get(
            "baseline_mode")
    mode = mode or "ratio"
    if not (gdir / "fixed_effects.tsv").exists():
        split, results = fit_models(trials, formula, participants=participants)
        write_models(split, results, gdir)
    tables = {n: pd.read_csv(gdir / f"{n}.tsv", sep="\t", keep_default_na=False,
                             na_values=["n/a"]) for n in ("fixed_effects", "anova", "contrasts",
                                                          "emmeans")
              if (gdir / f"{n}.tsv").exists()}
    kept = (trials.groupby("participant_id")["rejected"].agg(trials="size", rejected="sum")
            .reset_index())
    kept["kept"] = kept["trials"] - kept["rejected"]
    dq = kept.merge(participants[["participant_id", "group"]], on="participant_id", how="left")
    if not quality.empty:
        snr = quality.pivot_table(index="participant_id", columns="muscle", values="snr_db")
        snr.columns = [f"snr_db_{c}" for c in snr.columns]
        dq = dq.merge(snr.reset_index(), on="participant_id", how="left")
    groups = participants["group"].value_counts().to_dict()
    intro = [(None, f"Results folder: {root.resolve().name}\nParticipants: {len(dq)} "
                    f"({', '.join(f'{g}: {n}' for g, n in groups.items())})\n"
                    f"Trials: {len(trials)} trial × muscle rows, {int(trials['rejected'].sum())}"
                    f" rejected\nBaseline mode: {mode}")]
    if (gdir / "summary.txt").exists() or any(gdir.glob("*/summary.txt")):
        sent = [p.read_text() for p in sorted(gdir.glob("**/summary.txt"))]
        intro.append(("Drug contrasts", "\n".join(sent)))
    with atomic_pdf(out) as pdf:
        muscles = list(pd.unique(trials["muscle"]))
        pages = [text_page("emgkit group report", intro)]
        if not tcs.empty:
            pages.append(figure_page("Grand-average time courses by group (mean ± SEM across "
                                     "participants)", vizgroup.plot_group_timecourses,
                                     len(pd.unique(tcs["muscle"])),
                                     len(pd.unique(tcs["condition"])), timecourses=tcs,
                                     participants=participants, mode=mode))
        if "emmeans" in tables:
            n_em = tables["emmeans"]["muscle"].nunique() if "muscle" in tables["emmeans"] else 1
            pages.append(figure_page("Estimated marginal means (95 % CI)",
                                     vizgroup.plot_emmeans, 1, n_em,
                                     emmeans=tables["emmeans"], ylabel=mode))
        pages.append(figure_page("Raw baseline levels by group (tonic differences that ratio "
                                 "or z scores hide)", vizgroup.plot_baselines, 1, len(muscles),
                                 trials=trials, participants=participants))
        for name, title in (("anova", "Type III tests (Satterthwaite df)"),
                            ("contrasts", "Drug contrasts (Holm-adjusted, effect size in SD)"),
                            ("fixed_effects", "Fixed effects")):
            if name in tables:
                pages += table_pages(title, tables[name])
        if (gdir / "order_balance.tsv").exists():
            pages += table_pages("Block/session order by group (counterbalancing check)",
                                 pd.read_csv(gdir / "order_balance.tsv", sep="\t"))
        pages += _trait_pages(trials, participants, traits, mode)
        pages += table_pages("Data quality per participant", dq)
        for fig in pages:
            pdf.savefig(fig)
    return Path(out)


def _trait_pages(trials, participants, traits, mode):
    from .stats.traits import participant_means, trait_correlations

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
                                 vizgroup.plot_trait_scatter, n_m, n_c, means=means,
                                 participants=participants, trait=trait, correlations=corr,
                                 ylabel=mode))
    pages += table_pages("Trait correlations", corr.round(4))
    return pages
