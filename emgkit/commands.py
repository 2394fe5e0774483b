"""Handlers of the planning, review and export commands (``emgkit power``, ``multiverse``,
``timecourse``,
``export``, ``init``, ``blind``, ``unblind``); :mod:`emgkit.cli` builds the parser. Each
handler imports what it uses when it runs, so the command line starts fast."""

from __future__ import annotations

import sys


def cmd_power(args):
    import json
    import platform

    import pandas as pd

    from ._args import MAX_N_PER_GROUP, MAX_TRIALS_PER_CELL
    from ._files import read_tsv, write_text, write_tsv
    from ._version import __version__
    from .errors import ConfigError
    from .power.estimate import cost_estimate, describe
    from .power.pilot import pilot_models
    from .power.report import power_report
    from .power.run import power_analysis
    from .study.outdir import OutputFolder

    # the numbers were checked by argparse (emgkit.cli: finite, within bounds)
    inputs = [p for p in (args.pilot, args.participants, args.config) if p]
    OutputFolder.check(args.out, inputs=inputs)  # refused before any simulation
    scheduler = args.scheduler or ("local" if args.dask else None)
    n_per_group, trials_per_cell = list(args.n_per_group), list(args.trials_per_cell)
    points = []
    if args.signal:
        if not args.config:
            raise ConfigError("--signal runs the pipeline: give the study's --config too.")
        for item in args.signal.split(","):
            try:
                n, k = (int(v) for v in item.lower().split("x"))
            except ValueError:
                n = k = 0
            if not (2 <= n <= MAX_N_PER_GROUP and 1 <= k <= MAX_TRIALS_PER_CELL):
                raise ConfigError(f"--signal {item!r}: give design points as "
                                  f"PARTICIPANTS_PER_GROUPxTRIALS_PER_CELL, e.g. 20x12 "
                                  f"(2 to {MAX_N_PER_GROUP:,} participants per group, 1 to "
                                  f"{MAX_TRIALS_PER_CELL:,} trials per cell).")
            points.append((n, k))
    if args.effect is not None and args.effect_sd is not None:
        raise ConfigError("Give --effect (outcome units) or --effect-sd (SD units), not both.")
    if args.pilot:
        trials = read_tsv(args.pilot, what="Pilot trial table")
        parts = (read_tsv(args.participants, what="Participants table") if args.participants
                 else None)
        models, at = pilot_models(trials, args.formula, participants=parts,
                                  contrast=args.contrast, at=args.at)
    elif args.config:  # declared in [power]
        from .power.config import declared_models
        from .power.pilot import parse_at

        models = declared_models(args.config)
        _, at = parse_at(args.at)
        if at is None:
            raise ConfigError("Name the contrast row to test: --at condition=LEVEL.")
        for m in models.values():
            m.row_index(at)
    else:
        raise ConfigError("emgkit power needs --pilot TRIALS.tsv, or --config study.toml "
                          "with a [power] section.")
    models = {k: m.with_effect(at, effect=args.effect, effect_sd=args.effect_sd)
              for k, m in models.items()}
    folder = OutputFolder.open(args.out, inputs=inputs)
    total = len(models) * len(n_per_group) * len(trials_per_cell)

    def progress(done, total_):
        print(f"  {done}/{total_} design points", file=sys.stderr, flush=True)

    cost = cost_estimate(models, at, n_per_group, trials_per_cell, args.simulations,
                         jobs=args.jobs, adjust=args.adjust)
    print(f"power: {describe(cost)}; starting.", file=sys.stderr, flush=True)
    table = power_analysis(models, at, n_per_group, trials_per_cell,
                           simulations=args.simulations, seed=args.seed, alpha=args.alpha,
                           adjust=args.adjust, target_power=args.target_power,
                           equivalence=(args.equivalence, args.equivalence_scale)
                           if args.equivalence else None, jobs=args.jobs,
                           scheduler=scheduler, progress=progress if total > 1 else None)
    table.insert(0, "level", "trial")
    if points:
        from .config import load_config
        from .power.signal import signal_power

        def sig_progress(done, total_):
            print(f"  signal level: {done}/{total_} simulated studies", file=sys.stderr,
                  flush=True)

        attrs = dict(table.attrs)
        sig = signal_power(models, at, points, args.signal_simulations,
                           load_config(args.config), args.formula, seed=args.seed,
                           alpha=args.alpha, sfreq=args.signal_sfreq, jobs=args.jobs,
                           scheduler=scheduler, progress=sig_progress)
        table = pd.concat([table, sig], ignore_index=True)
        table.attrs.update(attrs)
    settings = dict(pilot=str(args.pilot or ""), formula=args.formula, contrast=args.contrast,
                    signal=args.signal or "", signal_simulations=args.signal_simulations,
                    config=str(args.config or ""),
                    at=args.at or "", effect=args.effect, effect_sd=args.effect_sd,
                    simulations=args.simulations, seed=args.seed, alpha=args.alpha,
                    adjust=args.adjust, target_power=args.target_power,
                    equivalence=args.equivalence, equivalence_scale=args.equivalence_scale,
                    emgkit=__version__, python=platform.python_version())
    write_tsv(table, folder.root / "power.tsv", float_format="%.6g")
    write_text(json.dumps(settings, indent=2) + "\n", folder.root / "power.json")
    power_report(table, folder.root / "power.pdf", settings=settings)
    cols = ["level", "muscle", "n_per_group", "trials_per_cell", "power", "ci_low", "ci_high",
            "mde", "singular_rate", "converged_rate"]
    print(table[[c for c in cols if c in table]].round(3).to_string(index=False))
    from .power.report import singular_note

    note = singular_note(table)
    if note:
        print(f"caution: {note}", file=sys.stderr)
    print(f"wrote {folder.root / 'power.tsv'}, power.pdf, power.json")
    return 0


def cmd_blind(args):
    from .errors import ConfigError
    from .study.blind import blind_table

    if args.seed is not None:
        raise ConfigError(f"--seed {args.seed}: emgkit blind takes no seed. The codes come "
                          f"from the operating system's secure random source, so nobody can "
                          f"rebuild the key from a seed (or the file time); drop --seed and "
                          f"keep the key file safe instead.")
    record = blind_table(args.participants, args.out, args.key, column=args.column,
                         accept_unequal=args.accept_unequal)
    print(f"wrote {args.out} ({args.column} coded as {', '.join(sorted(record['codes']))}) "
          f"and its sidecar; the key is {args.key} — keep it away from the analysts.")
    return 0


def cmd_unblind(args):
    from .study.blind import unblind, verify_record

    if args.verify:
        problems = verify_record(args.out_dir)
        for p in problems:
            print(p)
        print("unblinding record verified: every result file is as it was before unblinding"
              if not problems else f"{len(problems)} problem(s)")
        return 0 if not problems else 1
    if not args.key:
        from .errors import ConfigError

        raise ConfigError("emgkit unblind needs --key KEY.json (or --verify).")
    path = unblind(args.out_dir, args.key, force=args.force)
    print(f"wrote {path} and {path.parent / 'unblinding.json'}")
    return 0


def cmd_timecourse(args):
    from pathlib import Path

    import pandas as pd

    from ._files import write_tsv
    from .epochs.tables import read_trials
    from .errors import ConfigError
    from .power.pilot import parse_at
    from .report.pages import atomic_pdf, figure_page
    from .stats.timecourse import binwise_test, cluster_test, plot_clusters
    from .study.export import results_inputs, results_participants
    from .study.outdir import OutputFolder
    from .study.results import checked_group

    root = Path(args.results)
    inputs = results_inputs(root, args.participants)  # and the results folder, read whole
    OutputFolder.check(args.out, inputs=inputs, reads=[root])
    checked = checked_group(root)  # against its done.json, once
    path = checked[0] / "timecourses.tsv"
    if not path.is_file():
        raise ConfigError(f"{path} not found: run the study's group step first (emgkit run).")
    tcs = read_trials(path)
    parts = results_participants(root, args.participants, checked=checked)
    by, level = parse_at(args.at)
    if by != "condition":
        raise ConfigError(f"--at {args.at!r}: give the condition, e.g. --at condition=happy.")
    muscles = (args.muscles.split(",") if args.muscles
               else list(pd.unique(tcs["muscle"])))
    if args.method == "binwise":
        table = pd.concat([binwise_test(tcs, parts, muscle=m, condition=level,
                                        factor=args.contrast, alpha=args.alpha)
                           for m in muscles], ignore_index=True)
        name, how = "bins.tsv", (f"a mixed model per bin, Benjamini-Hochberg over bins; "
                                 f"shaded: p_fdr < {args.alpha:g}")
    else:
        tables = [cluster_test(tcs, parts, muscle=m, condition=level, factor=args.contrast,
                               n_permutations=args.permutations, alpha=args.alpha,
                               seed=args.seed) for m in muscles]
        table = pd.concat(tables, ignore_index=True)
        name, how = "clusters.tsv", (f"cluster permutation test, {args.permutations} "
                                     f"permutations; shaded: p < {args.alpha:g}")
        floor = max(t.attrs.get("min_p", 0.0) for t in tables)
        if floor > args.alpha:  # said on the page, not only in a warning
            how += (f"; NOTE: with {tables[0].attrs['n_a']} vs {tables[0].attrs['n_b']} "
                    f"participants the smallest attainable p is {floor:.3g} > {args.alpha:g}")
    folder = OutputFolder.open(args.out, inputs=inputs, reads=[root])
    write_tsv(table, folder.root / name, float_format="%.6g")
    from .report.group import read_run
    from .viz.style import UNITS

    mode = read_run(root / "run.json").get("config", {}).get("epochs", {}).get(
        "baseline_mode")
    ylabel = f"group mean ({UNITS[mode]})" if mode in UNITS else "group mean score"
    with atomic_pdf(folder.root / "timecourse.pdf") as pdf:
        pdf.savefig(figure_page(f"{args.contrast} difference over time at {level} ({how})",
                                plot_clusters, 1, len(muscles),
                                timecourses=tcs, participants=parts, clusters=table,
                                muscles=muscles, condition=level, factor=args.contrast,
                                ylabel=ylabel))
    if args.method == "binwise":
        table = table[table["significant"]]
    if len(table):
        print(table.to_string(index=False))
    else:
        print("no significant bin" if args.method == "binwise"
              else "no cluster above the bin threshold")
    print(f"wrote {folder.root / name} and timecourse.pdf")
    return 0


def cmd_init(args):
    from pathlib import Path

    from ._files import write_text
    from .config.template import draft_study, init_input
    from .errors import ConfigError
    from .study.outdir import check_file_target

    out = Path(args.out)
    if out.exists():
        raise ConfigError(f"--out {out} exists; emgkit init never overwrites a file. Give a "
                          f"new file name (e.g. study.toml in a new folder).")
    check_file_target(out, inputs=[args.recording])
    inp = init_input(args.recording, sfreq=args.sfreq, columns=args.columns,
                     units=args.units)
    text = draft_study(args.recording, mask=args.mask, input_config=inp)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(text, out)
    print(text)
    print(f"wrote {out}: edit the lines marked EDIT, then run emgkit process.")
    return 0


def cmd_export(args):
    from pathlib import Path

    from ._files import write_tsv
    from .errors import ConfigError
    from .study.export import export_results, results_inputs
    from .study.outdir import check_file_target

    check_file_target(args.out, inputs=results_inputs(args.results, args.participants),
                      reads=[args.results], force=args.force)
    if Path(args.out).suffix.lower() not in (".tsv", ".txt"):
        raise ConfigError(f"--out {args.out}: emgkit export writes a tab-separated table; "
                          f"give a file name ending in .tsv (e.g. export_wide.tsv).")
    table = export_results(args.results, wide=not args.long, participants=args.participants)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_tsv(table, args.out, float_format="%.6g")
    print(f"wrote {args.out}: {len(table)} rows × {table.shape[1]} columns "
          f"({'long' if args.long else 'wide'})")
    return 0


def cmd_multiverse(args):
    from .errors import ConfigError
    from .multiverse.report import summary_sentence
    from .multiverse.run import duration_text, run_multiverse
    from .study.plan import plan_from_bids

    if args.max_specs < 1:
        raise ConfigError(f"--max-specs {args.max_specs}: give the largest number of "
                          f"specifications to run (at least 1).")
    plan = plan_from_bids(args.bids, args.task) if args.bids else None
    scheduler = "local" if args.dask and not args.scheduler else args.scheduler

    def progress(stage, done, total):
        print(f"  {stage}: {done}/{total}", file=sys.stderr, flush=True)

    def announce(n_specs, n_participants, seconds):
        print(f"multiverse: {n_specs} specifications × {n_participants} participants; "
              f"estimated {duration_text(seconds)} with --jobs {args.jobs} (rough; the "
              f"measured time goes to multiverse.json)", file=sys.stderr, flush=True)

    record = run_multiverse(args.config, args.out, jobs=args.jobs, scheduler=scheduler,
                            report=not args.no_reports, progress=progress, plan=plan,
                            max_specs=args.max_specs, announce=announce)
    summary = record["summary_table"]
    keys = [c for c in summary.columns if c not in (
        "n_specifications", "primary_estimate", "primary_effect_size", "primary_p_adj",
        "median_estimate", "median_effect_size", "share_same_sign", "share_p05",
        "share_significant", "share_significant_same_sign")]
    for _, s in summary.iterrows():
        print(" · ".join(str(s[k]) for k in keys) + ": " + summary_sentence(s))
    failed = [k for k, r in record["participants"].items() if r["status"] == "failed"]
    if failed:
        print(f"  failed participants (left out of every specification): "
              f"{', '.join(failed)}", file=sys.stderr)
    print(f"wrote {args.out}/specifications.tsv, summary.tsv, multiverse.json"
          + ("" if args.no_reports else ", specification_curve.pdf"))
    return 0 if record["status"] == "ok" else 1


def cmd_bids_convert(args):
    """``emgkit bids convert``: a study's recordings as an EMG-BIDS dataset."""
    from .study.bids_convert import convert_to_bids

    root = convert_to_bids(args.source, args.config, args.out, task=args.task,
                           line_freq=args.line_freq, reference=args.reference,
                           placement=args.placement, name=args.name,
                           recordings=args.recordings)
    n = len([p for p in root.glob("sub-*/**/emg/*_emg.*") if p.suffix in (".bdf", ".edf")])
    print(f"Wrote {n} recordings as the EMG-BIDS dataset {root}; check it with "
          f"bids-validator-deno {root}, then emgkit run CONFIG --bids {root} --out RESULTS")
    return 0
