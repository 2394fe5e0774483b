"""Command-line interface: parses arguments and calls the command handlers
(:mod:`emgkit.data_commands`, :mod:`emgkit.commands`), nothing else."""

from __future__ import annotations

import argparse
import logging
import sys

from ._args import (
    ADJUST_METHODS,
    MAX_N_PER_GROUP,
    MAX_PERMUTATIONS,
    MAX_SIMULATIONS,
    MAX_SUBJECTS,
    MAX_TRIALS,
    MAX_TRIALS_PER_CELL,
    arg_finite,
    arg_float,
    arg_int,
    arg_int_list,
    arg_jobs,
    arg_mask,
    arg_probability,
    arg_seed,
    arg_sfreq,
)
from .commands import (
    cmd_bids_convert,
    cmd_blind,
    cmd_export,
    cmd_init,
    cmd_multiverse,
    cmd_power,
    cmd_timecourse,
    cmd_unblind,
)
from .data_commands import (
    cmd_inspect,
    cmd_process,
    cmd_report,
    cmd_review,
    cmd_run,
    cmd_simulate,
    cmd_stats,
)
from .errors import EmgkitError


class _Parser(argparse.ArgumentParser):
    """argparse with emgkit's one-line errors (``emgkit: error: argument --X: ...``, exit
    code 2) instead of the usage block."""

    def error(self, message):
        self.exit(2, f"emgkit: error: {message.rstrip('.')} (see {self.prog} --help).\n")


def build_parser():
    """Return the ``emgkit`` argument parser."""
    p = _Parser(prog="emgkit", description="Facial EMG processing.")
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("simulate", help="write a simulated study (BIDS-like) with study.toml")
    s.add_argument("out_dir", help="folder to write (new or empty)")
    s.add_argument("--subjects", type=arg_int(1, MAX_SUBJECTS, what="a number of participants"),
                   default=4, help=f"participants to simulate, 1 to {MAX_SUBJECTS} (default 4)")
    s.add_argument("--seed", type=arg_seed, default=0,
                   help="random seed, a whole number >= 0 (default 0)")
    s.add_argument("--format", choices=["bdf", "edf"], default="bdf",
                   help="file format of the recordings (default bdf)")
    s.add_argument("--sfreq", type=arg_sfreq, default=2048.0,
                   help="Hz, 100 to 100000 (default 2048)")
    s.add_argument("--trials", type=arg_int(1, MAX_TRIALS, what="a number of trials"),
                   default=6, help=f"trials per condition, 1 to {MAX_TRIALS} (default 6)")
    s.set_defaults(func=cmd_simulate)

    s = sub.add_parser("process", help="process one recording into trials.tsv/timecourses.tsv")
    s.add_argument("recording", help="BDF/EDF (or text) recording")
    s.add_argument("--config", required=True, help="study.toml with the processing settings")
    s.add_argument("--out", required=True, help="folder to write trials.tsv and "
                   "timecourses.tsv into (new, empty or emgkit's)")
    s.add_argument("--participant", default=None, help="participant id (default: sub-XX "
                   "from the file name)")
    s.set_defaults(func=cmd_process)

    s = sub.add_parser("stats", help="fit the group mixed model to a trial table")
    s.add_argument("trials", help="trials.tsv (one or many participants)")
    s.add_argument("--participants", default=None, help="participants.tsv (group, covariates)")
    s.add_argument("--formula", required=True, help='e.g. "score ~ group * condition"')
    s.add_argument("--re-formula", default=None, help='random slopes, e.g. "~ condition"')
    s.add_argument("--equivalence", type=arg_float(0, low_inclusive=False,
                                                   what="a positive bound"),
                   default=None, metavar="DELTA",
                   help="smallest effect of interest (> 0): equivalence tests of the contrasts")
    s.add_argument("--equivalence-scale", choices=("sd", "raw"), default="sd",
                   help="DELTA in SD units (default) or in the outcome's units")
    s.add_argument("--crossed", default=None, help="column with a crossed random intercept, "
                   "e.g. stimulus_id")
    s.add_argument("--reference", default=None, metavar="LEVEL",
                   help="within-participant contrasts: each level against LEVEL (e.g. "
                        "neutral; emmeans trt.vs.ctrl), or all pairs by emmeans' "
                        "'pairwise' (earlier - later level) or 'revpairwise' (later - "
                        "earlier; the default when no level is neutral)")
    s.add_argument("--by", default=None, help="fit one model per level of this column "
                   "(default: per muscle when the formula has no muscle term)")
    s.add_argument("--dropna", action="store_true", help="drop rows with missing values")
    s.add_argument("--out", required=True, help="folder to write the model tables into")
    s.set_defaults(func=cmd_stats)

    s = sub.add_parser("power", help="power of a group contrast by simulating the analysis "
                       "from a pilot")
    s.add_argument("--pilot", default=None, metavar="TRIALS_TSV",
                   help="emgkit trial table of a pilot (e.g. OUT/group/trials.tsv); without "
                   "it, --config's [power] section declares the model")
    s.add_argument("--participants", default=None, help="participants.tsv of the pilot "
                   "(group, covariates)")
    s.add_argument("--formula", default="score ~ group * condition",
                   help='the analysis model (default "score ~ group * condition")')
    s.add_argument("--contrast", default="group", help="between-participant factor tested "
                   "(default group)")
    s.add_argument("--at", default=None, metavar="FACTOR=LEVEL",
                   help="the contrast row tested, e.g. condition=happy")
    s.add_argument("--n-per-group", required=True,
                   type=arg_int_list(2, MAX_N_PER_GROUP, what="a number of participants per group"),
                   help=f"participants per group, 2 to {MAX_N_PER_GROUP:,} each, e.g. "
                   f"10,20,30,40")
    s.add_argument("--trials-per-cell", required=True,
                   type=arg_int_list(1, MAX_TRIALS_PER_CELL, what="a number of trials per cell"),
                   help="kept trials per participant × condition, e.g. 6,12,24")
    s.add_argument("--simulations", type=arg_int(10, MAX_SIMULATIONS,
                                                 what="a number of simulations"),
                   default=1000, help=f"simulated studies per design point, 10 to "
                   f"{MAX_SIMULATIONS:,} (default 1000: Monte-Carlo error about ±3 points)")
    s.add_argument("--seed", type=arg_seed, default=0,
                   help="random seed, a whole number >= 0 (default 0)")
    s.add_argument("--effect", type=arg_finite, default=None,
                   help="set the tested contrast to this size (outcome units)")
    s.add_argument("--effect-sd", type=arg_finite, default=None,
                   help="set the tested contrast to this size in SD units")
    s.add_argument("--alpha", type=arg_probability, default=0.05,
                   help="test level, between 0 and 1 (default 0.05)")
    s.add_argument("--adjust", default="holm", choices=ADJUST_METHODS,
                   help="multiplicity correction over the contrast family (default holm, as "
                   "the analysis)")
    s.add_argument("--target-power", type=arg_probability, default=0.8,
                   help="power the minimal detectable effect is computed for (default 0.8)")
    s.add_argument("--equivalence", type=arg_float(0, low_inclusive=False,
                                                   what="a positive bound"), default=None,
                   help="also the power of the equivalence test |effect| < bound (> 0)")
    s.add_argument("--equivalence-scale", choices=("sd", "raw"), default="sd",
                   help="the bound in SD units (default) or in the outcome's units")
    s.add_argument("--signal", default=None, metavar="NxK[,NxK]",
                   help="also simulate raw recordings at these design points (participants "
                   "per group x trials per cell) and run the pipeline with --config")
    s.add_argument("--config", default=None, help="study.toml: for --signal, and its [power] "
                   "section without --pilot")
    s.add_argument("--signal-simulations",
                   type=arg_int(1, MAX_SIMULATIONS, what="a number of simulations"),
                   default=100, help="simulated studies per --signal point (default 100)")
    s.add_argument("--signal-sfreq", type=arg_sfreq, default=2048.0, help="Hz, 100 to 100000 (default 2048)")
    s.add_argument("--jobs", type=arg_jobs, default=1, help="worker processes (default 1)")
    s.add_argument("--scheduler", default=None, help="Dask scheduler address "
                   "(tcp://host:port)")
    s.add_argument("--dask", action="store_true", help="run on a local Dask cluster")
    s.add_argument("--out", required=True, help="folder to write power.tsv, power.pdf and "
                   "power.json into")
    s.set_defaults(func=cmd_power)

    s = sub.add_parser("init", help="draft a commented study.toml from a recording")
    s.add_argument("recording", help="a recording of the study (BDF/EDF or text)")
    s.add_argument("--out", default="study.toml", help="config to write (default study.toml; "
                   "never overwritten)")
    s.add_argument("--mask", type=arg_mask, default=0xFFFF,
                   help="trigger bit mask (default 0xFFFF)")
    s.add_argument("--sfreq", type=arg_float(0, 1e6, low_inclusive=False), default=None,
                   metavar="HZ", help="text exports without a header: sampling rate in Hz "
                   "(default: none; required for such files)")
    s.add_argument("--columns", default=None, metavar="A,B,C",
                   help="text exports without a header: comma-separated column names")
    s.add_argument("--units", default=None, metavar="UNIT",
                   help="text exports: unit of every column (mV), or col=unit,col=unit")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("timecourse", help="where in the epoch the groups differ: cluster "
                       "permutation tests over time bins")
    s.add_argument("results", help="results folder of emgkit run")
    s.add_argument("--contrast", default="group", help="two-level between factor")
    s.add_argument("--at", required=True, metavar="condition=LEVEL",
                   help="the condition compared, e.g. condition=happy")
    s.add_argument("--muscles", default=None, help="comma-separated (default: all)")
    s.add_argument("--method", choices=("cluster", "binwise"), default="cluster",
                   help="cluster permutation test (default), or a mixed model per bin with "
                        "FDR over bins")
    s.add_argument("--permutations", type=arg_int(1, MAX_PERMUTATIONS,
                                                  what="a number of permutations"),
                   default=2000, help=f"permutations of the cluster test, 1 to "
                   f"{MAX_PERMUTATIONS:,} (default 2000)")
    s.add_argument("--alpha", type=arg_probability, default=0.05,
                   help="test level, between 0 and 1 (default 0.05)")
    s.add_argument("--seed", type=arg_seed, default=0,
                   help="random seed, a whole number >= 0 (default 0)")
    s.add_argument("--participants", default=None,
                   help="participants table (default: the run's)")
    s.add_argument("--out", required=True, help="folder to write the tests and "
                   "timecourse.pdf into")
    s.set_defaults(func=cmd_timecourse)

    s = sub.add_parser("export", help="a results folder as one row per participant (--wide, "
                       "for SPSS/JASP) or the tidy trial table (--long)")
    s.add_argument("results", help="results folder of emgkit run")
    how = s.add_mutually_exclusive_group()
    how.add_argument("--wide", action="store_true", help="one row per participant (default)")
    how.add_argument("--long", action="store_true", help="one row per trial × muscle")
    s.add_argument("--participants", default=None,
                   help="participants table (default: the run's)")
    s.add_argument("--out", required=True, help="TSV file to write")
    s.add_argument("--force", action="store_true", help="replace an existing --out file "
                   "(never an input)")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("blind", help="code a participants table's group labels (the key is "
                       "kept apart)")
    s.add_argument("participants", help="participants table (TSV) with the real labels")
    s.add_argument("--column", default="group", help="column to code (default group)")
    s.add_argument("--out", required=True, help="coded table to write (with a .json sidecar)")
    s.add_argument("--key", required=True, help="key to write (keep it from the analysts; "
                   "not the coded table or its sidecar)")
    s.add_argument("--accept-unequal", action="store_true",
                   help="accept group sizes that tell codes apart (recorded in the sidecar) "
                   "instead of a warning")
    s.add_argument("--seed", default=None, help=argparse.SUPPRESS)  # refused: see cmd_blind
    s.set_defaults(func=cmd_blind)

    s = sub.add_parser("unblind", help="refit a blinded run's group step with the real "
                       "labels into OUT/unblinded, with a verifiable record")
    s.add_argument("out_dir", help="results folder of a blinded emgkit run")
    s.add_argument("--key", default=None, help="the key emgkit blind wrote (a regular file)")
    s.add_argument("--force", action="store_true", help="redo an unblinding")
    s.add_argument("--verify", action="store_true",
                   help="check the unblinding record against the folder")
    s.set_defaults(func=cmd_unblind)

    s = sub.add_parser("report", help="PDF report of a recording, or of a study (--group)")
    s.add_argument("recording", nargs="?", help="recording for a participant report")
    s.add_argument("--config", default=None, help="study.toml of the recording")
    s.add_argument("--group", default=None, metavar="RESULTS_DIR",
                   help="write the group report of a results folder")
    s.add_argument("--participants", default=None,
                   help="participants table (default: the run's)")
    s.add_argument("--out", required=True, help="PDF file to write")
    s.add_argument("--force", action="store_true", help="replace an existing --out file "
                   "(never an input)")
    s.set_defaults(func=cmd_report)

    s = sub.add_parser("run", help="process a whole study: participants, model, reports")
    s.add_argument("config", help="study.toml ([study] participants and recordings, "
                   "[model] formula)")
    s.add_argument("--out", required=True, help="results folder (new, empty or emgkit's)")
    s.add_argument("--jobs", type=arg_jobs, default=1, help="worker processes (default 1)")
    s.add_argument("--bids", default=None, metavar="ROOT", help="take recordings, events and "
                   "participants from an EMG-BIDS dataset")
    s.add_argument("--task", default=None, help="BIDS task label")
    s.add_argument("--recordings", default=None, metavar="TABLE", help="TSV of recordings "
                   "(participant_id, recording relative to the config's folder, and any of "
                   "session, acquisition, run): several recordings per participant, each "
                   "processed on its own (instead of [study] recordings)")
    s.add_argument("--scheduler", default=None, help="Dask scheduler address "
                   "(tcp://host:port)")
    s.add_argument("--dask", action="store_true", help="run on a local Dask cluster")
    s.add_argument("--no-reports", action="store_true", help="skip the PDF reports")
    s.add_argument("--allow-missing", action="store_true", help="exit 0 when a condition is "
                   "missing in some participants (default: exit 3, listed in run.json)")
    s.add_argument("--force", action="store_true", help="recompute a folder holding results "
                   "of another config (only files emgkit wrote are replaced)")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("multiverse", help="every preprocessing specification of [multiverse] "
                       "through the group model: a specification curve")
    s.add_argument("config", help="study.toml with a [multiverse] section")
    s.add_argument("--out", required=True, help="results folder (new, empty or emgkit's)")
    s.add_argument("--jobs", type=arg_jobs, default=1, help="worker processes (default 1)")
    s.add_argument("--bids", default=None, metavar="ROOT", help="take recordings, events "
                   "and participants from an EMG-BIDS dataset")
    s.add_argument("--task", default=None, help="BIDS task label")
    s.add_argument("--scheduler", default=None, help="Dask scheduler address")
    s.add_argument("--dask", action="store_true", help="run on a local Dask cluster")
    s.add_argument("--no-reports", "--no-report", dest="no_reports", action="store_true",
                   help="skip specification_curve.pdf (as in run; --no-report is the same)")
    s.add_argument("--max-specs", type=arg_int(1, 100000), default=200, metavar="N",
                   help="refuse a grid of more than N specifications (default 200)")
    s.set_defaults(func=cmd_multiverse)

    s = sub.add_parser("bids", help="EMG-BIDS datasets: convert a study's recordings")
    bids = s.add_subparsers(dest="bids_command", required=True, help="what to do: convert")
    s = bids.add_parser("convert", help="write a study's EDF/BDF recordings as an EMG-BIDS "
                        "1.11 dataset (through mne-bids)")
    s.add_argument("source", help="folder of the recordings ([study] paths are relative to "
                   "it)")
    s.add_argument("--config", required=True, help="study.toml: [study] participants and "
                   "recordings, [channels], [events]")
    s.add_argument("--out", required=True, help="dataset root to write (new or empty, outside "
                   "SOURCE)")
    s.add_argument("--task", default=None, help="BIDS task label (default: task-<label> of "
                   "the file names)")
    s.add_argument("--line-freq", type=arg_float(0, 1000, low_inclusive=False), default=None,
                   metavar="HZ", help="mains frequency for PowerLineFrequency (default: the "
                   "source sidecar, else [preprocess] notch)")
    s.add_argument("--reference", default=None, help="EMGReference text (default: the "
                   "[channels] derivations)")
    s.add_argument("--placement", default=None, help="EMGPlacementSchemeDescription text")
    s.add_argument("--name", default=None, help="dataset Name (default: SOURCE's name)")
    s.add_argument("--recordings", default=None, metavar="TABLE", help="TSV of recordings "
                   "(participant_id, recording relative to SOURCE, and any of session, "
                   "acquisition, run) for several recordings per participant (default: "
                   "[study] recordings, one per participant)")
    s.set_defaults(func=cmd_bids_convert)

    s = sub.add_parser("review", help="an offline HTML page to review every trial of a "
                       "results folder and mark exclusions (OUT/review/index.html)")
    s.add_argument("results", help="results folder of emgkit run")
    s.add_argument("--serve", action="store_true", help="serve the page on 127.0.0.1 and "
                   "save marks to the [study] overrides table")
    s.add_argument("--force", action="store_true", help="replace an OUT/review/index.html "
                   "that emgkit did not write")
    s.set_defaults(func=cmd_review)

    s = sub.add_parser("inspect", help="print channels, sampling rates, duration, trigger "
                                       "codes (before/after masking), annotations, CMS")
    s.add_argument("recording", help="BDF/EDF (or text) recording")
    s.add_argument("--mask", type=arg_mask, default=0xFFFF,
                   help="trigger bit mask (default 0xFFFF)")
    s.add_argument("--stim", default=None, help="trigger channel label")
    s.add_argument("--config", default=None,
                   help="study.toml whose [input] says how to read text files")
    s.set_defaults(func=cmd_inspect)
    return p


def _version():
    from ._version import __version__

    return f"emgkit {__version__}"


def main(argv=None):
    """Entry point of the ``emgkit`` command; returns the exit code.

    Exit codes: 0 success; 1 a participant or the group step failed, or the system refused
    a file operation; 2 bad input or usage (one ``emgkit: error:`` line), including a
    configured condition that occurs in no recording; 3 (``run``) finished, but a condition
    is missing in some participants (``--allow-missing`` accepts it); 130 interrupted by
    Ctrl-C (SIGINT), 143 stopped by SIGTERM. A signal is never lost: one whose exception a
    library swallowed still ends the command so (:mod:`emgkit._interrupts`).
    """
    from . import _interrupts

    try:
        with _interrupts.handling():  # first: a signal during start-up is a clean stop too
            code = _main(argv)
            if code != _interrupts.exit_code():
                _interrupts.check()  # a signal whose exception was swallowed on the way
            return code
    except KeyboardInterrupt:  # swallowed on the way, during start-up or the handlers' set-up
        print("emgkit: interrupted.", file=sys.stderr)
        return _interrupts.exit_code()


def _main(argv):
    from . import _interrupts
    from .errors import Interrupted

    logging.basicConfig(level=logging.WARNING, format="emgkit: %(levelname)s: %(message)s")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.func(args)
    except Interrupted as exc:
        print(f"emgkit: {exc}", file=sys.stderr)
        return _interrupts.exit_code()
    except KeyboardInterrupt:
        print("emgkit: interrupted.", file=sys.stderr)
        return _interrupts.exit_code()
    except Exception as exc:
        if _interrupts.received() is not None:
            # an error the signal caused (a library stopped half-way, e.g. a PDF being
            # closed: "Invalid affine transformation matrix", a zlib stream error) is the
            # interrupt, not a failure of its own
            print("emgkit: interrupted.", file=sys.stderr)
            return _interrupts.exit_code()
        if isinstance(exc, EmgkitError):
            print(f"emgkit: error: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, OSError):  # the system refused (permissions, disk full)
            where = f" ({exc.filename})" if exc.filename else ""
            print(f"emgkit: error: {exc.strerror or exc}{where}.", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
