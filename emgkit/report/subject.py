"""The PDF report of one recording: quality control and responses."""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from .._files import read_tsv, sha256
from .._ids import normalise_id
from ..config import Config, load_config
from .methods import methods_text


def _group_of(config, participant_id):
    if config.report_blinded:
        return "blinded"
    part = config.study.get("participants")
    if not part:
        return "unknown (no [study] participants table)"
    path = config.resolve(part)
    if not path.exists():
        return f"unknown ({path.name} not found)"
    table = read_tsv(path, what="Participants table")
    row = table[table["participant_id"].astype(str) == normalise_id(participant_id)]
    group = str(row["group"].iloc[0]) if len(row) and "group" in row else "unknown"
    from .._files import blinded_codes

    return f"blinded (code {group})" if blinded_codes(path) else group


def rejection_counts(trials, conditions=None, muscles=None):
    """Trials, rejected and kept per condition × muscle, in the given orders (e.g. the
    config's; others follow in order of appearance)."""
    g = trials.groupby(["condition", "muscle"], sort=False)["rejected"]
    out = g.agg(trials="size", rejected="sum").reset_index()
    out["kept"] = out["trials"] - out["rejected"]
    for col, order in (("muscle", muscles), ("condition", conditions)):
        if order is not None:
            rank = {v: i for i, v in enumerate(order)}
            out = out.sort_values(col, key=lambda c: c.map(rank).fillna(len(rank)),
                                  kind="stable")
    return out.reset_index(drop=True)


def _counts(result):
    """Trials per condition, in the config's order."""
    return result.events["condition"].value_counts().reindex(result.conditions)


def subject_report(recording, config, out, *, result=None, recording_sha256=None):
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
        An already processed recording with its quality measures; None processes it.
    recording_sha256 : str | None
        The recording's sha256 when already known (``emgkit run`` hashed it); None hashes it.

    Returns
    -------
    pathlib.Path
        The PDF.
    """
    from .._version import __version__
    from ..pipeline import process_recording

    if not isinstance(config, Config):
        config = load_config(config)
    if result is None or result.quality is None:
        result = process_recording(recording, config)
    rec = Path(recording)
    pid = result.participant_id
    chans = ", ".join(f"{m}: {a}" + (f" − {c}" if c else "")
                      for m, (a, c) in result.channels.items())
    header = "\n".join("  " + line for line in [
        f"Participant:      {pid}",
        f"Group:            {_group_of(config, pid)}",
        f"File:             {rec.name}",
        f"sha256:           {recording_sha256 or sha256(rec)}",
        f"Recording date:   {result.meas_date}",
        f"Duration:         {result.duration:.1f} s",
        f"Sampling rate:    {result.sfreq:g} Hz",
        f"Channels:         {chans}",
        f"Trials:           {len(result.events)} "
        f"({', '.join(f'{c}: {n}' for c, n in _counts(result).items())})",
        f"Band, notch:      {_band(result.config.preprocess, result.muscles)}",
        *_sidecar_lines(rec),
        f"emgkit:           {__version__}",
        f"Config:           {config.path.name if config.path else '-'} (sha256 {config.digest()})",
    ])
    q = result.quality["summary"] if result.quality else pd.DataFrame()
    qtext = _quality_text(q)
    notes = []
    for _, r in q.iterrows():
        if r["kept"] == 0:
            notes.append(f"{r['muscle']}: no usable trials.")
        if r["saturated_s"] > 0 or r["flat_s"] > 0:
            notes.append(f"{r['muscle']}: {r['flat_s']:.2f} s flat, {r['saturated_s']:.2f} s "
                         f"saturated.")
    if result.quality and result.quality["cms_spans"]:
        notes.append(f"BioSemi CMS out of range for {q['cms_out_s'].iloc[0]:.2f} s.")
    counts = rejection_counts(result.trials, result.conditions, result.muscles)
    empty = counts[counts["kept"] == 0]
    for _, r in empty.iterrows():
        notes.append(f"No usable trials for {r['condition']} × {r['muscle']}.")
    blocks = [[(None, header), ("Signal quality", qtext),  # two columns, one landscape page
               ("Notes", "\n".join(notes) or "No flat, saturated or CMS problems found.")],
              [("Methods", methods_text(result.config, result.sfreq))]]
    rejected = result.trials[result.trials["rejected"]][
        ["trial", "condition", "muscle", "onset_s", "reject_reason"]].sort_values(
        ["trial", "muscle"], key=lambda c: c.map({m: i for i, m in enumerate(result.muscles)})
        if c.name == "muscle" else c, kind="stable")
    # matplotlib is imported after processing, so its memory does not add to the pass's
    from ..viz import qc as vizqc
    from . import pages as pages_module
    from .pages import atomic_pdf, table_pages, tables_page, text_page

    n = len(result.muscles)
    reasons = ("Reasons: flat / saturated input channel, baseline_outlier, response_outlier"
               " ([reject] method robust), range_artifact (kunecke2014), bin_outlier"
               " (dignath2019), outside_recording, manual (a reviewer's override, see"
               " run.json).")

    def rejection_pages():  # both tables on one page when they fit, else one each
        page = tables_page("Trial rejection", [("Counts per condition × muscle", counts, None),
                                               ("Rejected trials", rejected.round(3),
                                                reasons)],
                           fontsize=10.0, min_fontsize=6.5)  # the largest that fits
        if page is not None:
            return [page]
        return (table_pages("Trial rejection: counts", counts, landscape=True)
                + table_pages("Rejected trials", rejected.round(3), note=reasons,
                              landscape=True))

    # built and written one at a time: one page's figure in memory; all landscape; the
    # figures are reused by the next report this process draws
    figure_page = functools.partial(pages_module.figure_page, reuse=True)
    pages = [
        lambda: [text_page(f"emgkit report — {pid}", blocks, landscape=True, fontsize=8,
                           columns=[0.6, 0.4])],
        lambda: [figure_page("Raw and filtered signal", vizqc.plot_raw_excerpt, 2 * n,
                             result=result)],
        lambda: [figure_page("Spectra before and after filtering", vizqc.plot_psd, n,
                             result=result)],
        lambda: [figure_page("Whole session", vizqc.plot_session, n, result=result)],
        lambda: [figure_page("Average response (mean ± SEM, kept trials)",
                             result.plot_average, 1, n, bottom=1.5)],
        lambda: [figure_page("Single trials (baseline-corrected)", vizqc.plot_trial_images,
                             1, n, result=result)],
        lambda: [figure_page(("Trial scores (hollow: rejected; ▲▼ at an edge: beyond the"
                              " axis, value printed)"), vizqc.plot_scores, 1, n,
                             result=result)],
        rejection_pages,
    ]
    with atomic_pdf(out) as pdf:
        for make in pages:
            for fig in make():
                pdf.savefig(fig)
    return Path(out)


#: what each column of the signal-quality table means (printed under it)
QUALITY_COLUMNS = (
    ("snr_db", ("activity-to-floor ratio, dB: 10·log10 of the 95th over the 5th percentile"
                " of the filtered signal's power in 0.5 s windows (higher: responses stand"
                " out)")),
    ("mains_ratio", ("share of the in-band raw power within ±1 Hz of the mains frequency and"
                     " its harmonics (0–1; high: line noise)")),
    ("flat_s", "s of constant (flat) input signal"),
    ("saturated_s", "s at the amplifier's range limit"),
    ("trials, kept", "trials in the recording, and those kept after rejection"),
    ("cms_out_s", "s with BioSemi CMS out of range (0 for other systems)"),
)


def _quality_text(q):
    """The signal-quality table (monospaced, shared decimals per column) with every
    column explained below it."""
    if not len(q):
        return "-"
    from .pages import table_cells

    cols = [str(c) for c in q.columns]
    cells = table_cells(q)
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    fmt = "  ".join(f"{{:>{n}}}" for n in widths)
    lines = [fmt.format(*cols)] + [fmt.format(*r) for r in cells]
    shown = [(k, v) for k, v in QUALITY_COLUMNS if k.split(",")[0] in cols]
    key_w = max(len(k) for k, _ in shown)
    return "\n".join("  " + line for line in lines) + "\n" + "\n".join(
        f"  {k:<{key_w}}  {v}" for k, v in shown)


def _band(pp, muscles=None):
    processed = [m for m in (muscles or ()) if m in set(pp.processed or ())]
    if muscles and len(processed) == len(muscles):
        return "none (channels processed by the acquisition software, taken as they are)"
    band = f"{pp.l_freq:g}–{pp.h_freq:g} Hz" if pp.h_freq else f"high-pass {pp.l_freq:g} Hz"
    notch = f"{pp.notch:g} Hz" if pp.notch else "none"
    src = " (from *_emg.json PowerLineFrequency)" if pp.notch_from_sidecar and pp.notch else ""
    skip = f"; not filtered: {', '.join(processed)}" if processed else ""
    return f"{band}, notch {notch}{src}{skip}"


def _sidecar_lines(rec):
    """The EMG-BIDS sidecar's reference, placement and mains facts, when there is one."""
    from ..io.bids import emg_sidecar

    side = emg_sidecar(rec) or {}
    keys = ("EMGReference", "EMGPlacementScheme", "EMGGround", "PowerLineFrequency")
    facts = [f"{k} = {side[k]}" for k in keys if side.get(k) not in (None, "", "n/a")]
    facts = [f if len(f) <= 72 else f[:71] + "…" for f in facts]  # one line each
    return [("*_emg.json:       " if i == 0 else " " * 18) + f for i, f in enumerate(facts)]
