"""An ``emgkit run`` results folder as a BIDS derivative dataset that the BIDS validator accepts.

BIDS 1.11 has file names for EMG recordings (``sub-<label>/emg/…_emg.bdf``) but none for what a
facial-EMG analysis derives from them: per-trial scores, binned time courses, signal-quality
tables, mixed-model tables, PDF reports. emgkit keeps its own short, stable names
(``sub-01/trials.tsv``, ``group/anova.tsv``; the ones every command, notebook and script
reads) and makes the folder a valid derivative dataset around them:

- ``dataset_description.json`` with ``DatasetType: derivative``, ``GeneratedBy`` (emgkit and
  its version) and ``SourceDatasets`` (the study the run read, as a ``file://`` URL);
  fields a user added (``Authors``, ``License``, …) are kept on a rerun;
- ``participants.tsv`` with ``participants.json`` describing every column (the source's
  descriptions when its table has a sidecar);
- ``.bidsignore`` naming emgkit's own files (:data:`BIDSIGNORE`), which BIDS has no names for;
  lines a user added are kept. A run with sessions writes folders ``sub-<label>_ses-<label>``,
  which the validator reads as unknown subjects: then ``participants.tsv`` is listed too
  (:data:`SESSION_BIDSIGNORE`);
- ``README.md`` saying what each file is (written once; a user's README is never replaced);
- a JSON sidecar beside every TSV describing each column (:func:`write_table_sidecars` for the
  group tables; :mod:`emgkit.epochs.sidecar` for the participant tables).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .._files import write_text
from .outdir import MARKER, PARTICIPANT_FILES

BIDS_VERSION = "1.11.0"
#: lines of ``.bidsignore``: the files of a results folder that have no BIDS name
BIDSIGNORE = ("run.json", "unblinding.json", "group", "unblinded", "review",
              *sorted(f"sub-*/{name}" for name in PARTICIPANT_FILES),
              "sub-*_ses-*")
README = "README.md"

_PARTICIPANT_TEXT = {
    "participant_id": "Participant label (BIDS sub-<label>).",
    "group": "Group (between-participant factor).",
    "session": "Session label (BIDS ses-<label>).",
    "age": "Age of the participant, as the study's participants table gives it.",
    "sex": "Sex of the participant, as the study's participants table gives it.",
}


def _m(long, text):
    return {"LongName": long, "Description": text}


#: columns of the group tables (``group/``, ``group/muscle-*``, ``group/<split>-*``)
MODEL_COLUMNS = {
    "muscle": _m("Muscle", "Muscle the model was fitted for, as named in [channels]."),
    "term": _m("Model term", "Fixed-effect term (or random-effect term in variance.tsv) of the "
               "mixed model."),
    "num_df": _m("Numerator df", "Numerator degrees of freedom of the F test."),
    "den_df": _m("Denominator df", "Denominator degrees of freedom of the F test "
                 "(Satterthwaite)."),
    "F": _m("F", "F statistic of the Type III test of the term."),
    "p": _m("p value", "Two-sided p value."),
    "p_adj": _m("Adjusted p value", "p value adjusted for the family of contrasts "
                "(Holm unless the config says otherwise)."),
    "factor": _m("Factor", "Factor the contrast compares levels of."),
    "contrast": _m("Contrast", "Levels compared (level - reference)."),
    "estimate": _m("Estimate", "Estimated fixed effect or contrast, in score units."),
    "se": _m("Standard error", "Standard error of the estimate, in score units."),
    "df": _m("Degrees of freedom", "Degrees of freedom of the t statistic."),
    "t": _m("t", "t statistic (estimate / se)."),
    "ci_low": _m("CI lower bound", "Lower bound of the unadjusted 95% confidence "
                 "interval, in score units."),
    "ci_high": _m("CI upper bound", "Upper bound of the unadjusted 95% confidence "
                  "interval, in score units."),
    "effect_size": _m("Effect size", "Standardised contrast: estimate / sqrt(residual + "
                      "random-intercept variance)."),
    "bf10": _m("Bayes factor", "JZS Bayes factor BF10 (Cauchy scale √2/2) of a "
               "two-sample t test of the participants' mean scores in the row's cell; n/a "
               "for a within-participant factor."),
    "emmean": _m("Estimated marginal mean", "Model-estimated mean of the cell, in score units."),
    "variance": _m("Variance", "Estimated variance component, in squared score units."),
    "sd": _m("Standard deviation", "Square root of the variance component, in score units."),
    "equiv_delta": _m("Equivalence bound", "Equivalence bound of the test, in score units."),
    "p_equiv": _m("Equivalence p value", "Unadjusted p value of the equivalence test."),
    "score": _m("Score", "Trial score (trials.tsv score) entering the model."),
    "value": _m("Bin value", "Baseline-corrected bin value (timecourses.tsv value)."),
    "condition": _m("Condition", "Condition of the trial, from [events] conditions."),
    "participant_id": _m("Participant", "Participant label (BIDS sub-<label>)."),
    "group": _m("Group", "Group (between-participant factor)."),
    "session": _m("Session", "Session label (BIDS ses-<label>)."),
}


def source_dataset(plan):
    """The folder of the study a run reads: the nearest folder above the participants table
    (or the plan's source) that holds a ``dataset_description.json`` (a BIDS dataset), else
    the folder of the participants table.

    Returns
    -------
    pathlib.Path
    """
    return source_folder(Path(plan.inputs[0]) if plan.inputs else Path(plan.source))


def source_folder(path):
    """The nearest folder at or above ``path`` (a file or folder) holding a
    ``dataset_description.json``, else the folder of ``path``.

    Returns
    -------
    pathlib.Path
    """
    start = Path(path).resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if (candidate / MARKER).is_file():
            return candidate
    return folder


def describe_dataset(root, source, *, what="emgkit run"):
    """Write or update ``root/dataset_description.json`` as emgkit's derivative description.

    The keys emgkit owns (``BIDSVersion``, ``DatasetType``, ``GeneratedBy``) are set, and
    ``SourceDatasets`` as a ``file://`` URL of ``source`` unless a user gave it another form
    (a DOI or a web URL, kept); any other key already there (``Name``, ``Authors``,
    ``License``) is kept.

    Parameters
    ----------
    root : path-like
        The results folder (already checked as emgkit's, :class:`OutputFolder`).
    source : path-like
        The source study folder (:func:`source_dataset`).
    what : str
        The command, in ``GeneratedBy`` ``Description``.

    Returns
    -------
    dict
        The description written.
    """
    from .._version import __version__

    path = Path(root) / MARKER
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        meta = meta if isinstance(meta, dict) else {}
    except (OSError, ValueError):
        meta = {}
    meta.setdefault("Name", "emgkit outputs")
    meta.update(BIDSVersion=BIDS_VERSION, DatasetType="derivative",
                GeneratedBy=[{"Name": "emgkit", "Version": __version__,
                              "Description": f"{what}: facial-EMG trial scores, time courses "
                                             f"and signal quality"
                                             + (" and group models" if what == "emgkit run"
                                                else "")}])
    given = meta.get("SourceDatasets")
    if not (isinstance(given, list) and given and not all(
            isinstance(g, dict) and set(g) == {"URL"} and str(g["URL"]).startswith("file:")
            for g in given)):
        meta["SourceDatasets"] = [{"URL": Path(source).resolve().as_uri()}]
    write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", path)
    return meta


#: extra ``.bidsignore`` lines of a run with session folders (``sub-01_ses-1/``): the
#: validator counts such a folder as subject ``01_ses-1``, missing from ``participants.tsv``
SESSION_BIDSIGNORE = ("/participants.tsv", "/participants.json")
_HEADER = "# emgkit's own files: BIDS has no names for them (see README.md)"


def write_bidsignore(root, *, sessions=False, lines=BIDSIGNORE):
    """Write ``root/.bidsignore`` with ``lines`` (:data:`BIDSIGNORE` for a results folder of
    ``emgkit run``; and :data:`SESSION_BIDSIGNORE` when the run has session folders), keeping
    lines a user added.

    Returns
    -------
    pathlib.Path
    """
    wanted = tuple(lines) + (SESSION_BIDSIGNORE if sessions else ())
    path = Path(root) / ".bidsignore"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = [_HEADER]
    lines += [line for line in wanted if line not in lines]
    return write_text("\n".join(lines) + "\n", path)


def write_readme(root):
    """Write ``root/README.md`` describing a results folder, unless a README is there."""
    root = Path(root)
    if any((root / name).exists() for name in ("README", README, "README.txt", "README.rst")):
        return None
    return write_text(_README_TEXT, root / README)


def participants_sidecar(table, source=None):
    """Describe every column of a participants table: the source's own descriptions (its
    ``participants.json``) where given, emgkit's for ``participant_id``/``group``, and a plain
    statement for the rest.

    Parameters
    ----------
    table : DataFrame
    source : path-like | None
        The source ``participants.tsv``; its ``.json`` sidecar is read when present.

    Returns
    -------
    dict
    """
    given = {}
    if source is not None:
        try:
            given = json.loads(Path(source).with_suffix(".json").read_text(encoding="utf-8"))
            given = given if isinstance(given, dict) else {}
        except (OSError, ValueError):
            given = {}
    out = {}
    for col in map(str, table.columns):
        entry = dict(given[col]) if isinstance(given.get(col), dict) else {}
        if not entry.get("Description"):
            entry["Description"] = _PARTICIPANT_TEXT.get(col) or (
                f"Column {col} of the study's participants table, copied unchanged (the "
                f"study gives no description).")
        if col == "group" and "Levels" not in entry:
            levels = sorted(str(v) for v in pd.unique(table[col].dropna()))
            entry["Levels"] = {lv: f"group {lv}" for lv in levels}
        out[col] = entry
    return out


def write_participants_sidecar(path, table, source=None):
    """Write the JSON sidecar of a participants table (:func:`participants_sidecar`)."""
    meta = {"Description": "The participants of the run: the study's participants table "
                           "as the run read it."} | participants_sidecar(table, source)
    text = json.dumps(meta, indent=2, ensure_ascii=False)
    return write_text(text + "\n", Path(path).with_suffix(".json"))


def model_sidecar(columns):
    """Describe the columns of a group table (:data:`MODEL_COLUMNS`; a factor level column
    emgkit does not know is described as the model's factor of that name)."""
    return {col: dict(MODEL_COLUMNS.get(col) or _m(
        col, f"Level of the model factor {col} the row refers to.")) for col in map(str, columns)}


def write_table_sidecars(folder):
    """Write a JSON sidecar beside every TSV under ``folder`` that has none (group tables,
    :func:`model_sidecar`; a participants table, :func:`participants_sidecar`).

    Returns
    -------
    list of pathlib.Path
        The sidecars written.
    """
    written = []
    for tsv in sorted(Path(folder).rglob("*.tsv")):
        side = tsv.with_suffix(".json")
        if side.exists():
            continue
        columns = pd.read_csv(tsv, sep="\t", nrows=0).columns
        meta = (participants_sidecar(pd.read_csv(tsv, sep="\t", dtype=str))
                if tsv.name == "participants.tsv" else model_sidecar(columns))
        written.append(write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                  side))
    return written


def describe_processed(root, recording, written):
    """Make the output folder of ``emgkit process`` a BIDS derivative dataset:
    ``dataset_description.json`` (source: the BIDS dataset or folder of ``recording``) and a
    ``.bidsignore`` naming the files written at its top (``/trials.tsv``, …).

    Parameters
    ----------
    root : path-like
        The ``--out`` folder.
    recording : path-like
        The recording processed.
    written : iterable of path-like
        The files written into ``root``.
    """
    root = Path(root)
    describe_dataset(root, source_folder(recording), what="emgkit process")
    write_bidsignore(root, lines=[f"/{Path(p).name}" for p in written])


def describe_results(root, plan):
    """Make a results folder a BIDS derivative dataset: ``dataset_description.json``,
    ``participants.json`` beside ``participants.tsv``, ``.bidsignore`` and ``README.md``
    (see the module docstring).

    Parameters
    ----------
    root : path-like
        The results folder.
    plan : StudyPlan
        The run's plan (its participants table and source).
    """
    root = Path(root)
    describe_dataset(root, source_dataset(plan))
    write_participants_sidecar(root / "participants.tsv", plan.participants,
                               plan.inputs[0] if plan.inputs else None)
    write_bidsignore(root, sessions=any("_ses-" in f for f in plan.folders.values()))
    write_readme(root)


_README_TEXT = """\
# emgkit results

A BIDS derivative dataset written by `emgkit run` (see `dataset_description.json` for the
emgkit version and the source study, and `run.json` for the full provenance: configuration,
inputs with their sha256, versions, per-participant status).

- `participants.tsv` (+ `participants.json`): the participants of the run.
- `sub-<label>/trials.tsv` (+ `trials.json`): one row per trial and muscle: baseline and
  response levels (µV), score, rejection.
- `sub-<label>/timecourses.tsv` (+ `timecourses.json`): baseline-corrected envelope per
  time bin.
- `sub-<label>/quality.tsv` (+ `quality.json`): signal quality per muscle.
- `sub-<label>/envelopes.npz`: decimated envelopes of every trial (for `emgkit review`);
  `report.pdf`: the participant's report; `done.json`: the files written, with sha256.
- `group/`: the stacked tables, the mixed-model tables (each with a JSON sidecar), the
  fitted models per muscle and the group report.

Every JSON sidecar describes each column of its table (BIDS `LongName`, `Description`,
`Units`, `Levels`). emgkit's own file names have no BIDS equivalent; `.bidsignore` lists them
so that the BIDS validator checks the rest.
"""

__all__ = ["BIDSIGNORE", "BIDS_VERSION", "MODEL_COLUMNS", "SESSION_BIDSIGNORE",
           "describe_dataset", "describe_processed", "describe_results", "model_sidecar",
           "participants_sidecar", "source_dataset", "source_folder", "write_bidsignore",
           "write_participants_sidecar", "write_readme", "write_table_sidecars"]
