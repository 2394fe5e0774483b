#!/usr/bin/env bash
# Regenerate sample_data/: 4 simulated participants (2 placebo, 2 naltrexone), BioSemi BDF
# at 1024 Hz, 4 trials per emotion (~2.5 min each). Deterministic (seed 2026).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf sample_data/sub-* sample_data/participants.tsv sample_data/study.toml \
       sample_data/dataset_description.json
emgkit simulate sample_data --subjects 4 --seed 2026 --sfreq 1024 --trials 4 --format bdf
du -sh sample_data
