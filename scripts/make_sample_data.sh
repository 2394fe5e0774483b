#!/usr/bin/env bash
# Regenerate sample_data/: 4 simulated participants (2 placebo, 2 naltrexone), BioSemi BDF
# at 1024 Hz, 4 trials per emotion (~2.5 min each), as an EMG-BIDS 1.11 dataset (the BIDS
# validator accepts it: `bids-validator-deno sample_data`). Deterministic (seed 2026).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf sample_data/sub-* sample_data/participants.tsv sample_data/participants.json \
       sample_data/study.toml sample_data/dataset_description.json sample_data/README.md \
       sample_data/.bidsignore sample_data/.emgkit-simulated.json
emgkit simulate sample_data --subjects 4 --seed 2026 --sfreq 1024 --trials 4 --format bdf
rm -f sample_data/.emgkit-simulated.json   # the simulation manifest is not shipped
du -sh sample_data
