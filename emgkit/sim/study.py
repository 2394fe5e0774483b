"""Write a whole simulated study to disk as an EMG-BIDS 1.11 dataset, with its ``study.toml``.

Layout (``task`` defaults to ``mimicry``)::

    OUT/dataset_description.json, README.md
    OUT/participants.tsv, participants.json    participant_id, group, age, sex, trait
    OUT/study.toml                            a ready config for `emgkit process`
    OUT/.bidsignore                           study.toml and *_truth.tsv (not BIDS)
    OUT/sub-01/emg/sub-01_task-mimicry_emg.bdf
    OUT/sub-01/emg/sub-01_task-mimicry_emg.json      EMG-BIDS sidecar
    OUT/sub-01/emg/sub-01_task-mimicry_channels.tsv  target_muscle, group
    OUT/sub-01/emg/sub-01_task-mimicry_events.tsv (+ .json)
    OUT/sub-01/emg/sub-01_task-mimicry_truth.tsv   ground truth per trial × muscle
    OUT/.emgkit-simulated.json                every file written, with its sha256

``emgkit simulate`` writes only into a new or empty folder, or a study it simulated whose
files are all unchanged (:func:`emgkit.study.outdir.simulation_folder`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .._check import check_option, check_sfreq
from .._files import sha256, write_text, write_tsv
from ..errors import ConfigError
from ..io.bids import TARGET_MUSCLES
from ..io.write import write_edf
from .recording import SimParams, simulate_recording

EDF_RAIL = 3000.0  # µV: physical range of simulated 16-bit EDF files
#: ``*_events.json``: the columns of a simulated ``*_events.tsv``
EVENTS_SIDECAR = {
    "onset": {"Description": "Onset of the face from the start of the recording.",
              "Units": "s"},
    "duration": {"Description": "How long the face was shown.", "Units": "s"},
    "trial_type": {"Description": "Expression of the face (the condition)."},
    "value": {"Description": "Trigger code of the condition in the recording's trigger "
                             "channel (Status for BDF, Trigger for EDF)."},
    "trial": {"Description": "Trial number, from 1."},
}
#: ``participants.json``: the columns of a simulated ``participants.tsv``
PARTICIPANTS_SIDECAR = {
    "participant_id": {"Description": "Participant label (BIDS sub-<label>)."},
    "group": {"Description": "Group (between-participant factor): the drug the participant "
                             "was simulated to take."},
    "age": {"Description": "Age of the participant (simulated).", "Units": "year"},
    "sex": {"Description": "Sex of the participant (simulated).",
            "Levels": {"F": "female", "M": "male"}},
    "trait": {"Description": "A simulated trait questionnaire score (standard normal; not "
                             "related to the responses)."},
    "response_scale": {"Description": "The participant's simulated response amplitude "
                                      "factor (log-normal around 1; the ground truth of "
                                      "between-participant variability)."},
}
#: ``.bidsignore`` of a simulated study: its config and ground-truth tables have no BIDS name
SIM_BIDSIGNORE = "study.toml\n*_truth.tsv\n"


def write_recording(rec, path, *, fmt="bdf", status_high=0x98):
    """Write a :class:`~emgkit.sim.recording.SimRecording` as BDF (Status) or EDF+ (annotations).

    BDF files get a BioSemi ``Status`` channel with ``status_high`` in bits 16-23; EDF+
    files get a 16-bit ``Trigger`` channel and one annotation per trial (the condition name).
    The events (``*_events.tsv``) and truth (``*_truth.tsv``) are written next to the file.

    Returns
    -------
    pathlib.Path
        The recording's path.
    """
    fmt = check_option("fmt", fmt, ("bdf", "edf"))
    path = Path(path)
    if fmt == "bdf":
        write_edf(path, rec.data, rec.ch_names, rec.sfreq, fmt="bdf",
                  stim=rec.status(status_high), stim_name="Status")
    else:
        ann = [(float(o), 0.0, str(c)) for o, c in zip(rec.events.onset, rec.events.trial_type)]
        write_edf(path, rec.data, rec.ch_names, rec.sfreq, fmt="edf", stim=rec.trigger,
                  stim_name="Trigger", annotations=ann, physical_range=EDF_RAIL + 1)
    stem = path.name.rsplit("_", 1)[0] if "_" in path.stem else path.stem
    write_tsv(rec.events, path.with_name(f"{stem}_events.tsv"))
    write_tsv(rec.truth, path.with_name(f"{stem}_truth.tsv"))
    # EMG-BIDS sidecars: channels and recording metadata
    stim_name = "Status" if fmt == "bdf" else "Trigger"
    muscles = {lab: m for m, pair in rec.electrodes.items() for lab in pair}
    role = {lab: k for pair in rec.electrodes.values() for k, lab in enumerate(pair)}
    chans = pd.DataFrame({
        "name": rec.ch_names + [stim_name],
        "type": ["EMG"] * len(rec.ch_names) + ["TRIG"],
        "units": ["uV"] * len(rec.ch_names) + ["n/a"],
        "description": [f"{muscles.get(c, 'n/a')} electrode"
                        f"{(' (anode)', ' (cathode)')[role[c]] if c in role else ''}"
                        for c in rec.ch_names] + ["trigger"],
        "sampling_frequency": rec.sfreq,
        "status": "good",
        "target_muscle": [TARGET_MUSCLES.get(muscles[c], muscles[c]) if c in muscles
                          else "n/a" for c in rec.ch_names] + ["n/a"],
        "group": [muscles.get(c, "n/a") for c in rec.ch_names] + ["n/a"],
    })
    write_tsv(chans, path.with_name(f"{stem}_channels.tsv"))
    task = re.search(r"_task-([A-Za-z0-9]+)", path.name)
    targets = list(dict.fromkeys(TARGET_MUSCLES.get(m, m) for m in rec.electrodes))
    meta = {"TaskName": task.group(1) if task else "mimicry",
            "TaskDescription": "Simulated facial mimicry: photographs of happy, angry, sad "
                               "and neutral faces, one per trial.",
            "SamplingFrequency": rec.sfreq,
            "PowerLineFrequency": 50, "EMGReference": "bipolar pairs of monopolar "
            "electrodes (anode - cathode) per muscle", "EMGGround": "n/a",
            "EMGPlacementScheme": "Other",
            "EMGPlacementSchemeDescription": "Surface electrode pairs over "
            + ", ".join(targets) + " (see channels.tsv target_muscle and group).",
            "EMGChannelCount": len(rec.ch_names), "TriggerChannelCount": 1,
            "RecordingDuration": rec.duration, "RecordingType": "continuous",
            "SoftwareFilters": "n/a", "HardwareFilters": "n/a",
            "Manufacturer": "n/a (simulated by emgkit)",
            "SoftwareVersions": "emgkit simulate"}
    write_text(json.dumps(meta, indent=2), path.with_name(f"{stem}_emg.json"))
    write_text(json.dumps(EVENTS_SIDECAR | {"trial_type": EVENTS_SIDECAR["trial_type"] | {
        "Levels": {str(c): f"face with a {c} expression"
                   for c in pd.unique(rec.events.trial_type)}}}, indent=2),
        path.with_name(f"{stem}_events.json"))
    return path


def study_toml(params, *, fmt="bdf", band=None, task="mimicry"):
    """Return the text of a ``study.toml`` matching simulated data."""
    sfreq = params.sfreq
    if band is None:
        band = [20.0, 500.0] if sfreq > 1000 else [20.0, float(np.floor(0.45 * sfreq))]
    # the simulator plants no mains at or above Nyquist, and a notch there is an error
    notch = float(params.mains) if params.mains < sfreq / 2 else 0.0
    chans = "\n".join(f'{m} = "{a}-{c}"' for m, (a, c) in params.electrodes.items())
    if fmt == "bdf":
        events = 'source = "stim"\nmask = 65535\n[events.conditions]\n' + "\n".join(
            f'"{code}" = "{cond}"' for cond, code in params.conditions.items())
    else:
        events = 'source = "annotations"\n[events.conditions]\n' + "\n".join(
            f'"{cond}" = "{cond}"' for cond in params.conditions)
    return f"""# emgkit config for a simulated facial-mimicry study ({fmt.upper()}, {sfreq:g} Hz)
[study]
participants = "participants.tsv"
recordings = "{{participant_id}}/emg/{{participant_id}}_task-{task}_emg.{fmt}"

[channels]   # muscle = "anode-cathode" (bipolar) or a single channel label
{chans}

[events]
{events}

[preprocess]
band = [{band[0]}, {band[-1]}]   # Hz
notch = {notch}           # Hz, harmonics included; 0 = none
smooth = 0.05          # s, moving-average envelope window

[epochs]
tmin = -1.0
tmax = 6.0
baseline = [-1.0, 0.0]
baseline_mode = "ratio"
response = [0.5, 3.0]
bin = 0.5

[reject]
threshold = 3.5   # robust SDs of the participant's trial distribution
flat = 0.1        # s of constant signal = flat or saturated
"""


def simulate_study(out_dir, n_subjects, *, seed=0, fmt="bdf", sfreq=None, params=None,
                   drug_group="naltrexone", task="mimicry"):
    """Simulate a between-subjects drug study and write it to ``out_dir``.

    Participants alternate between ``placebo`` and ``drug_group``; the drug group gets
    ``params.drug_effect``. Each participant has a response scale (subject variability),
    an age, a sex and a trait score (z) that are written to ``participants.tsv``.

    Parameters
    ----------
    out_dir : path-like
        Folder to write (created if needed).
    n_subjects : int
        Number of participants (at least 1).
    seed : int
        Seed; the same seed gives identical files.
    fmt : "bdf" | "edf"
        BioSemi BDF with Status channel, or EDF+ with annotations and a trigger channel.
    sfreq : float | None
        Sampling rate in Hz; None takes ``params.sfreq``. Never defaulted: one of the two
        is required, and when both are given they must agree.
    params : SimParams | None
        Simulation settings.
    drug_group : str
        Name of the drug group.
    task : str
        BIDS task label.

    Returns
    -------
    pandas.DataFrame
        The participants table, with a ``recording`` column (path of each file).
    """
    fmt = check_option("fmt", fmt, ("bdf", "edf"))
    if isinstance(n_subjects, bool) or not isinstance(n_subjects, (int, np.integer)) \
            or n_subjects < 1:
        raise ConfigError(f"--subjects/n_subjects must be a positive integer, got {n_subjects!r}.")
    from dataclasses import replace

    if params is not None and sfreq is not None and float(sfreq) != params.sfreq:
        raise ConfigError(f"simulate_study: sfreq={sfreq:g} Hz disagrees with "
                          f"params.sfreq={params.sfreq:g} Hz; give one of them.")
    sfreq = check_sfreq(params.sfreq if sfreq is None and params is not None else sfreq)
    params = replace(params or SimParams(sfreq=sfreq), sfreq=sfreq)
    if fmt == "edf":
        params = replace(params, rail=EDF_RAIL, offset_amp=min(params.offset_amp, 300.0))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows, written = [], []
    width = max(2, len(str(n_subjects)))
    for i in range(n_subjects):
        sub = f"{i + 1:0{width}d}"
        group = "placebo" if i % 2 == 0 else drug_group
        scale = float(np.exp(rng.normal(0, params.subject_sd)))
        rec = simulate_recording(params, group=group, drug=group != "placebo",
                                 seed=rng.integers(2 ** 32), subject_scale=scale)
        folder = out / f"sub-{sub}" / "emg"
        folder.mkdir(parents=True, exist_ok=True)
        path = write_recording(rec, folder / f"sub-{sub}_task-{task}_emg.{fmt}", fmt=fmt,
                               status_high=params.status_high)
        written += [path] + [folder / f"sub-{sub}_task-{task}_{s}" for s in
                             ("events.tsv", "events.json", "truth.tsv", "channels.tsv",
                              "emg.json")]
        rows.append(dict(participant_id=f"sub-{sub}", group=group,
                         age=int(rng.integers(19, 36)), sex=str(rng.choice(["F", "M"])),
                         trait=round(float(rng.normal()), 3), response_scale=round(scale, 4),
                         recording=str(path.relative_to(out))))
    participants = pd.DataFrame(rows)
    write_tsv(participants.drop(columns="recording"), out / "participants.tsv")
    groups = sorted(participants["group"].unique())
    write_text(json.dumps(PARTICIPANTS_SIDECAR | {"group": PARTICIPANTS_SIDECAR["group"] | {
        "Levels": {g: f"group {g}" for g in groups}}}, indent=2), out / "participants.json")
    write_text(SIM_BIDSIGNORE, out / ".bidsignore")
    write_text(_readme(n_subjects, fmt, params.sfreq, seed, task), out / "README.md")
    write_text(json.dumps({"Name": "emgkit simulated facial-mimicry study",
                           "BIDSVersion": "1.11.0", "DatasetType": "raw",
                           "GeneratedBy": [{"Name": "emgkit simulate", "Seed": seed}]},
                          indent=2), out / "dataset_description.json")
    write_text(study_toml(params, fmt=fmt, task=task), out / "study.toml")
    written += [out / "participants.tsv", out / "dataset_description.json", out / "study.toml",
                out / "participants.json", out / ".bidsignore", out / "README.md"]
    _write_manifest(out, written)
    return participants


def _readme(n_subjects, fmt, sfreq, seed, task):
    """The README of a simulated study."""
    return f"""# emgkit simulated facial-mimicry study

An EMG-BIDS 1.11 dataset simulated by `emgkit simulate` (seed {seed}): {n_subjects} participants
alternating between a placebo and a drug group, facial EMG of corrugator supercilii,
zygomaticus major and depressor anguli oris as monopolar electrode pairs
({fmt.upper()}, {sfreq:g} Hz), task `{task}` (faces with four expressions).

- `sub-<label>/emg/*_emg.{fmt}` with `*_emg.json`, `*_channels.tsv` (`target_muscle`) and
  `*_events.tsv`/`*_events.json`;
- `participants.tsv`/`participants.json`: group, age, sex, a trait score and the simulated
  response scale;
- not BIDS (listed in `.bidsignore`): `study.toml`, the emgkit config that analyses the study
  (`emgkit run study.toml --out OUT`), and `*_truth.tsv`, the simulated ground truth per
  trial and muscle.

The data are synthetic: no person was recorded.
"""


def _write_manifest(out, written):
    """Record the files of a simulated study with their sha256 (``.emgkit-simulated.json``):
    ``emgkit simulate`` rewrites a folder only when it holds these files, unchanged. Entries
    of an earlier simulation that are still unchanged are kept."""
    manifest = out / ".emgkit-simulated.json"
    try:
        old = json.loads(manifest.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        old = {}
    files = {rel: digest for rel, digest in (old if isinstance(old, dict) else {}).items()
             if (out / rel).is_file() and sha256(out / rel) == digest}
    files.update({p.relative_to(out).as_posix(): sha256(p) for p in written})
    write_text(json.dumps({"generated_by": "emgkit simulate", "files": files}, indent=2),
               manifest)
