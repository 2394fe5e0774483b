"""Handlers of the data commands (``emgkit simulate``, ``process``, ``inspect``, ``stats``,
``report``, ``run``, ``review``); :mod:`emgkit.cli` builds the parser and
:mod:`emgkit.commands` holds the planning and export commands. Each handler imports what it
uses when it runs, so the command line starts fast."""

from __future__ import annotations

import sys
from pathlib import Path


def cmd_simulate(args):
    from .sim.recording import SimParams
    from .sim.study import simulate_study
    from .study.outdir import simulation_folder

    simulation_folder(args.out_dir)  # new, empty, or a study emgkit simulated
    params = SimParams(sfreq=args.sfreq, n_trials=args.trials)
    table = simulate_study(args.out_dir, args.subjects, seed=args.seed, fmt=args.format,
                           sfreq=args.sfreq, params=params)
    print(f"Wrote {len(table)} participants ({args.format.upper()}, {args.sfreq:g} Hz) to "
          f"{args.out_dir} with participants.tsv and study.toml")
    return 0


def cmd_process(args):
    from .pipeline import process_recording
    from .study.derivative import describe_processed
    from .study.outdir import OutputFolder, recording_inputs

    inputs = recording_inputs(args.recording, args.config, args.participant)
    OutputFolder.check(args.out, inputs=inputs)  # refused before processing
    result = process_recording(args.recording, args.config, participant_id=args.participant,
                               keep_continuous=False)
    out = OutputFolder.open(args.out, inputs=inputs)
    written = result.write(out.root)
    describe_processed(out.root, args.recording, written.values())  # a BIDS derivative
    print(repr(result))
    print(result.condition_means().round(3).to_string())
    for path in written.values():
        print(f"wrote {path}")
    return 0


def cmd_review(args):
    from .study.review_page import write_review

    print(write_review(args.results, force=args.force))
    if args.serve:
        from .study.review_server import serve

        return serve(args.results)
    return 0


def cmd_inspect(args):
    from .config import load_config
    from .io.inspect import inspect_recording

    inp, stim = None, args.stim
    if args.config:
        cfg = load_config(args.config)
        inp, stim = cfg.input, stim or cfg.events.stim_channel
    print(inspect_recording(args.recording, mask=args.mask, stim_channel=stim,
                            input_config=inp).text())
    return 0


def cmd_stats(args):
    from ._files import read_tsv, sidecar_of
    from .stats.split import fit_models, write_models
    from .study.outdir import OutputFolder

    inputs = [args.trials] + ([args.participants, sidecar_of(args.participants)]
                              if args.participants else [])
    OutputFolder.check(args.out, inputs=inputs)
    trials = read_tsv(args.trials, what="Trial table")
    parts = read_tsv(args.participants, what="Participants table") if args.participants else None
    split, results = fit_models(trials, args.formula, participants=parts, by=args.by,
                                re_formula=args.re_formula, crossed=args.crossed,
                                dropna=args.dropna, reference=args.reference,
                                equivalence=(args.equivalence, args.equivalence_scale)
                                if args.equivalence else None)
    folder = OutputFolder.open(args.out, inputs=inputs)
    out = write_models(split, results, folder.root)
    for level, res in results.items():
        print(repr(res))
        for sentence in res.summary_sentences():
            print("  " + sentence)
    print(f"wrote {out}")
    return 0


def cmd_report(args):
    from .report import subject_report
    from .study.export import results_inputs
    from .study.outdir import check_file_target, recording_inputs
    from .study.results import results_report

    if args.group:  # the results folder is read as a whole: nothing is written inside it
        check_file_target(args.out, inputs=results_inputs(args.group, args.participants),
                          reads=[args.group], force=args.force)
    elif args.recording and args.config:
        check_file_target(args.out, inputs=recording_inputs(args.recording, args.config)
                          + ([args.participants] if args.participants else []),
                          force=args.force)
    if Path(args.out).suffix.lower() != ".pdf":  # never a recording, table or config
        from .errors import ConfigError

        raise ConfigError(f"--out {args.out}: emgkit report writes a PDF; give a file name "
                          f"ending in .pdf (e.g. sub-01_report.pdf).")
    if args.group:
        path = results_report(args.group, args.out, participants=args.participants)
    else:
        if not args.recording or not args.config:
            from .errors import ConfigError

            raise ConfigError("emgkit report needs RECORDING and --config (or --group "
                              "RESULTS_DIR).")
        path = subject_report(args.recording, args.config, args.out)
    print(f"wrote {path}")
    return 0


def cmd_run(args):
    from .study.plan import plan_from_bids
    from .study.run import run_study

    plan = plan_from_bids(args.bids, args.task) if args.bids else None
    if args.recordings:
        from .config import load_config
        from .errors import ConfigError
        from .study.plan import plan_from_recordings

        if args.bids:
            raise ConfigError("emgkit run takes --bids ROOT or --recordings TABLE, not both: "
                              "an EMG-BIDS dataset names its sessions and runs itself.")
        config = load_config(args.config)
        plan = plan_from_recordings(config, args.recordings, config.path.parent)
        args.config = config
    scheduler = "local" if args.dask and not args.scheduler else args.scheduler
    record = run_study(args.config, args.out, plan=plan, jobs=args.jobs, scheduler=scheduler,
                       reports=not args.no_reports, force=args.force,
                       command=["emgkit"] + list(args.argv))
    s = record["summary"]
    print(f"{s['done']} processed, {s['skipped']} unchanged (skipped), {s['failed']} failed; "
          f"group step: {record['group']['status']}")
    failed = [pid for pid, info in record["participants"].items() if info["status"] == "failed"]
    if failed:  # their messages were printed as they failed, and are in run.json
        print(f"  failed: {', '.join(failed)}", file=sys.stderr)
    if record["group"]["status"] == "failed":
        print(f"  group step failed: {record['group']['message']}", file=sys.stderr)
    print(f"results in {args.out} (provenance: {args.out}/run.json)")
    cov = record.get("conditions", {})
    if cov.get("never_seen"):
        print(f"emgkit: error: {cov['message']}", file=sys.stderr)
        return 2
    if record["status"] != "ok":
        return 1
    if cov.get("missing") and not args.allow_missing:
        print(f"emgkit: warning: {cov['message']} (exit 3: finished with warnings worth "
              f"reading; --allow-missing accepts them)", file=sys.stderr)
        return 3
    return 0
