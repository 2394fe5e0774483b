"""``emgkit review``: a self-contained HTML page to review every trial of a results folder.

The page is built from the results folder alone (``run.json``, each participant's
``trials.tsv``, ``quality.tsv`` and ``envelopes.npz``, read only while its ``done.json``
matches) and the current overrides table (``[study] overrides``). Everything it needs is
inlined (no network, works from ``file://``): plain JavaScript drawing on ``<canvas>``.

Marks follow one rule, written twice — :func:`apply_mark` here and ``applyMark`` in the
page's script — so that the table the page downloads (or posts to ``emgkit review --serve``)
is always one :func:`emgkit.study.review.read_overrides` accepts: a new mark replaces rows it
covers, and rows of the other action that overlap it are split into single trial × muscle
rows so that no trial × muscle is both excluded and included.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .._files import write_text
from ..errors import ConfigError
from .review import COLUMNS, read_overrides

#: quality flags shown in the overview (column, test, label)
QUALITY_FLAGS = (("snr_db", lambda v: v < 6.0, "SNR < 6 dB"),
                 ("mains_ratio", lambda v: v > 1.0, "mains > 1"),
                 ("flat_s", lambda v: v > 0, "flat"),
                 ("saturated_s", lambda v: v > 0, "saturated"),
                 ("cms_out_s", lambda v: v > 0, "CMS out"))
#: reasons offered in the page (any text can be typed instead)
REASONS = ("movement", "speech", "yawn", "artefact", "electrode", "fine on review")


def _clean(text):
    """A cell as the TSV can hold it: tabs and line breaks become spaces."""
    return " ".join(str(text).split())


def apply_mark(rows, pid, trials, muscles, trial, muscle, action, reason="", reviewer=""):
    """Add one mark to a list of override rows (the rule of the page's ``applyMark``).

    Parameters
    ----------
    rows : list of dict
        Override rows (string cells, ``*`` for all) of every participant; not changed.
    pid : str
        ``sub-<label>`` of the marked participant.
    trials : list of int
        The participant's trial numbers (to split a ``*`` row).
    muscles : list of str
        The configured muscles.
    trial : int
    muscle : str
        A muscle or ``*`` (the whole trial).
    action : {"exclude", "include"}
    reason, reviewer : str

    Returns
    -------
    list of dict
        The new rows: rows of ``pid`` entirely inside the mark are dropped, rows of the other
        action that overlap it are split into single trial × muscle rows outside the mark,
        and the mark is appended.
    """
    if action not in ("exclude", "include"):
        raise ConfigError(f"action {action!r} must be exclude or include.")
    marked = {(str(trial), m) for m in (muscles if muscle == "*" else [muscle])}
    out = []
    for r in rows:
        if r["participant_id"] != pid:
            out.append(r)
            continue
        cells = {(str(t), m) for t in ([str(x) for x in trials] if r["trial"] == "*"
                                        else [r["trial"]])
                 for m in (muscles if r["muscle"] == "*" else [r["muscle"]])}
        if cells <= marked:
            continue  # replaced by the mark
        if r["action"] != action and cells & marked:
            for t, m in sorted(cells - marked, key=lambda c: (int(c[0]), muscles.index(c[1]))):
                out.append(dict(r, trial=t, muscle=m))
            continue
        out.append(r)
    out.append({"participant_id": pid, "trial": str(trial), "muscle": muscle,
                "action": action, "reason": _clean(reason), "reviewer": _clean(reviewer)})
    return out


def overrides_text(rows):
    """The overrides table (TSV text, header and one line per row) of ``rows``."""
    lines = ["\t".join(COLUMNS)]
    lines += ["\t".join(_clean(r.get(c, "")) for c in COLUMNS) for r in rows]
    return "\n".join(lines) + "\n"


def overrides_path(run, root):
    """The overrides table of a run (``[study] overrides`` of its config) or None.

    The config file is read again when it still exists, so that a table named after the run
    is found; otherwise the run's own copy of the config in ``run.json`` decides.
    """
    from ..config import load_config

    cfg_file = run.get("config_file")
    name = (run.get("config", {}).get("study", {}) or {}).get("overrides")
    folder = Path(cfg_file).parent if cfg_file else Path(root)
    if cfg_file and Path(cfg_file).is_file():
        config = load_config(cfg_file)
        name = config.study.get("overrides") or name
    if not name:
        return None
    return Path(name) if Path(name).is_absolute() else folder / name


def _rows_of(path, participants, muscles, excluded, recordings=()):
    """The current override rows (string cells) of a table, checked strictly."""
    if path is None or not path.is_file():
        return []
    parsed = read_overrides(path, participants=participants, muscles=muscles,
                            excluded=excluded, recordings=recordings)
    return [{"participant_id": pid, "trial": "*" if r["trial"] is None else str(r["trial"]),
             "muscle": r["muscle"] or "*", "action": r["action"], "reason": r["reason"],
             "reviewer": r["reviewer"]} for pid, rs in parsed.items() for r in rs]


def _participant(root, pid, info, muscles):
    """One participant's page data (summary, trials, traces) from its verified folder."""
    from .._files import read_tsv
    from ..epochs.traces import FILE, read_traces
    from .outdir import verify

    folder = Path(root) / info.get("folder", pid)
    entry = {"id": pid, "status": info.get("status", "?"),
             "message": str(info.get("message", "")).splitlines()[0:1], "trials": []}
    done, problem = verify(folder)
    if done is None:
        if entry["status"] in ("done", "skipped"):
            entry["status"] = "untrusted"
            entry["message"] = [problem]
        return entry
    trials = read_tsv(folder / "trials.tsv", what="Trials table", ids=False, text=True)
    rej = (trials["rejected"].str.lower() == "true").to_numpy()
    muscle = trials["muscle"].to_numpy()
    entry["kept"] = {m: int((~rej[muscle == m]).sum()) for m in muscles}
    entry["rejected"] = {m: int(rej[muscle == m].sum()) for m in muscles}
    if "quality.tsv" in done["files"]:
        q = read_tsv(folder / "quality.tsv", what="Quality table", ids=False)
        entry["quality"] = _quality(q)
    number = trials["trial"].astype(int).to_numpy()
    first = np.sort(np.unique(number, return_index=True)[1])  # in the table's order
    entry["trials"] = [int(number[k]) for k in first]
    entry["conditions"] = [str(c) for c in trials["condition"].to_numpy()[first]]
    row = {t: i for i, t in enumerate(entry["trials"])}
    col = {m: j for j, m in enumerate(muscles)}
    current = np.full((len(row), len(muscles)), None, dtype=object)
    for t, m, why in zip(number[rej], muscle[rej], trials["reject_reason"].to_numpy()[rej]):
        if m in col:
            current[row[t], col[m]] = str(why)
    entry["current"] = current.tolist()
    if FILE in done["files"]:
        entry.update(_traces(read_traces(folder / FILE), entry["trials"], muscles))
    return entry


def _int8(codes, scale):
    """int8 codes (-128 missing) and their scales, from the int16 codes of older files."""
    if codes.dtype == np.int8:
        return codes, scale
    small = np.clip(np.round(codes.astype(float) * 127 / 32767), -127, 127).astype(np.int8)
    small[codes == -32768] = -128
    return small, scale * np.float32(32767 / 127)


def _scales(scale):
    """Scales as short JSON numbers: 3 digits are far finer than a count (1/127 of a trace's
    peak)."""
    return [float(f"{v:.3g}") for v in np.asarray(scale, float).ravel()]


def _b64(codes):
    return base64.b64encode(np.ascontiguousarray(codes, np.int8).tobytes()).decode()


def _traces(tr, trials, muscles):
    """The page data of ``envelopes.npz`` in the order of ``trials`` × ``muscles``: the
    envelope (``times``, ``data``, ``scale``, ``auto``, ``unit``) and, when the file has it,
    the excerpt (``ex_times``; ``ex``: per trial × muscle the filtered signal's bin minimum
    and maximum then the input's bin means, int8; ``ex_scale``: two scales (µV per count)
    per trial × muscle)."""
    order = {int(t): i for i, t in enumerate(tr["trial"])}
    idx = np.array([order.get(t, -1) for t in trials], int)
    have = list(tr["muscles"])
    midx = np.array([have.index(m) if m in have else -1 for m in muscles], int)
    ok = (idx[:, None] >= 0) & (midx[None, :] >= 0)
    ii, jj = np.broadcast_arrays(idx[:, None], midx[None, :])

    def pick(codes, scale):
        out = np.full(ok.shape + codes.shape[2:], -128, np.int8)
        sc = np.ones(ok.shape, np.float32)
        out[ok], sc[ok] = codes[ii[ok], jj[ok]], scale[ii[ok], jj[ok]]
        return out, sc

    data, scale = pick(*_int8(tr["data"], tr["scale"]))
    auto = [[str(tr["auto_reason"][k, j]) or "rejected" if ok[i, m] and
             tr["auto_rejected"][k, j] else None for m, j in enumerate(midx)]
            for i, k in enumerate(idx)]
    out = {"times": [round(float(t), 4) for t in tr["times"]], "data": _b64(data),
           "scale": _scales(scale), "auto": auto, "unit": str(tr["unit"])}
    if tr.get("ex_low") is not None:
        codes = np.stack([tr["ex_low"], tr["ex_high"], tr["ex_raw"]], axis=2)
        scales = np.stack([tr["ex_scale"], tr["ex_raw_scale"]], axis=-1)
        ex, _ = pick(codes, np.zeros(codes.shape[:2], np.float32))
        sc = np.ones(ok.shape + (2,), np.float32)
        sc[ok] = scales[ii[ok], jj[ok]]
        out.update(ex_times=[round(float(t), 4) for t in tr["ex_times"]], ex=_b64(ex),
                   ex_scale=_scales(sc))
    return out


def _quality(q):
    """Quality rows (muscle, values, flags) as plain data."""
    out = []
    for row in q.to_dict("records"):
        flags = []
        vals = {}
        for col, bad, label in QUALITY_FLAGS:
            v = pd.to_numeric(row.get(col), errors="coerce")
            if pd.notna(v):
                vals[col] = float(f"{float(v):.4g}")
                if bad(float(v)):
                    flags.append(label)
        out.append({"muscle": str(row.get("muscle", "")), "values": vals, "flags": flags})
    return out


def review_data(root):
    """Everything the page shows, from a results folder of ``emgkit run``.

    Returns
    -------
    dict
        JSON-ready: ``muscles``, ``conditions`` (config order), ``tmin``/``tmax``,
        ``response`` (s), ``reasons``, ``overrides`` (the table's path or None), ``rows``
        (current override rows) and ``participants`` (one dict each: ``id``, ``status``,
        ``kept``/``rejected`` per muscle, ``quality``, ``trials``, ``conditions``,
        ``current`` (reject reason or None per trial × muscle), ``auto`` (the automatic
        decision), ``times`` (s), ``data`` (base64 int8 traces, -128 missing: 1/127 of each
        trace's peak is finer than a pixel of the page's plots) and ``scale``, and the
        excerpt of the signal: ``ex_times`` (s), ``ex`` (base64 int8: per trial × muscle the
        filtered signal's bin minimum and maximum and the input's bin means) and
        ``ex_scale`` (µV per count, two per trial × muscle)).

    Raises
    ------
    ConfigError
        ``root`` is not a results folder of ``emgkit run``, or the overrides table is
        invalid (naming the file and line).
    """
    from .results import is_run_folder, run_participants

    root = Path(root)
    if not is_run_folder(root):
        raise ConfigError(f"{root} is not a results folder of emgkit run (no run.json); "
                          f"give the --out folder of a run.")
    run = run_record(root)
    cfg = run.get("config", {})
    muscles = list(cfg.get("channels", {}))
    order = list(dict.fromkeys((cfg.get("events", {}).get("conditions") or {}).values()))
    table = run_participants(root)
    ids = [str(p) for p in table["participant_id"]]
    excluded = (cfg.get("study", {}) or {}).get("exclude_participants") or []
    path = overrides_path(run, root)
    rows = _rows_of(path, ids, muscles, excluded, recordings=several_recordings(run))
    people = [_participant(root, pid, info, muscles)
              for pid, info in sorted((run.get("participants") or {}).items())]
    seen = {c for p in people for c in p.get("conditions", [])}
    epochs = cfg.get("epochs", {})
    return {"muscles": muscles, "conditions": order + sorted(seen - set(order)),
            "tmin": epochs.get("tmin"), "tmax": epochs.get("tmax"),
            "response": epochs.get("response"), "reasons": list(REASONS),
            "overrides": None if path is None else str(path), "rows": rows,
            "participants": people, "root": str(root)}


#: how every page :func:`review_html` writes begins (an existing page is replaced only when
#: it begins so, or with ``force``)
PAGE_START = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<title>emgkit review</title>")


def _is_review_page(path):
    """True when ``path`` is a regular file that begins as :func:`review_html`'s pages do."""
    try:
        with open(path, "rb") as f:
            return f.read(len(PAGE_START.encode())) == PAGE_START.encode()
    except OSError:
        return False


def several_recordings(run):
    """The recording keys of a run whose keys carry entities (``sub-01_ses-post``): the
    page marks such a recording by its key (see :func:`emgkit.study.review.read_overrides`)."""
    from .plan import split_key

    return [k for k in (run.get("participants") or {}) if split_key(k)[1]]


def run_record(root):
    """``OUT/run.json`` of a results folder, as a dict.

    Raises
    ------
    ConfigError
        The file is not a JSON object (cut short, edited by hand, not UTF-8).
    """
    path = Path(root) / "run.json"
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise ConfigError(f"{path} cannot be read ({exc}); rerun emgkit run on this folder "
                          f"to write it again.") from None
    if not isinstance(run, dict):
        raise ConfigError(f"{path} is not a JSON object; rerun emgkit run on this folder to "
                          f"write it again.")
    return run


def review_html(data, *, token=None):
    """The review page (HTML text) of :func:`review_data`; ``token`` (``--serve``) makes the
    page post each change of the overrides to ``/overrides?token=...``."""
    from ._review_assets import CSS, JS

    payload = json.dumps(dict(data, token=token), separators=(",", ":"))
    # no markup character inside the script element: "</script" would end it and "<!--<script"
    # (a reason typed in the overrides table) would swallow the page's own script
    for char, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        payload = payload.replace(char, code)
    return (f"{PAGE_START}<style>{CSS}</style></head><body>"
            f"<div id=\"app\">Loading…</div>"
            f"<script id=\"data\" type=\"application/json\">{payload}</script>"
            f"<script>{JS}</script></body></html>\n")


def write_review(root, *, force=False):
    """``emgkit review OUT``: write ``OUT/review/index.html``.

    The ``review`` folder is the only thing written inside the results folder; it is checked
    with the output guard (no link, not a file) and the page is written atomically. An
    existing page is replaced when emgkit wrote it (it begins with :data:`PAGE_START`);
    any other file of that name only with ``force`` (``--force``).

    Returns
    -------
    pathlib.Path
        The page.
    """
    from .outdir import guard_output

    root = Path(root)
    data = review_data(root)
    inputs = [root / "run.json"] + ([data["overrides"]] if data["overrides"] else [])
    folder = guard_output(root / "review", kind="folder", inputs=inputs, what="review folder")
    ours = not (folder / "index.html").is_symlink() and _is_review_page(folder / "index.html")
    page = guard_output(folder / "index.html", kind="file", inputs=inputs, force=force or ours,
                        what="review page")
    folder.mkdir(exist_ok=True)
    write_text(review_html(data), page)
    return page


__all__ = ["PAGE_START", "QUALITY_FLAGS", "REASONS", "apply_mark", "overrides_path", "overrides_text",
           "review_data", "review_html", "run_record", "several_recordings", "write_review"]
