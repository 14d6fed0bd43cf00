#!/usr/bin/env bash
# The demo: set up .venv, build a tiny random-weight VLM offline, and run the whole evaluation
# on the bundled sample (8 languages). Its outputs are gibberish: it shows the plumbing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh

export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
model=.cache/tiny-vlm
[ -f "$model/config.json" ] || .venv/bin/python scripts/make_tiny_vlm.py "$model"
.venv/bin/mella-eval run --model "$model" --tasks linguistic --langs all \
  --backend hf --output-dir results --run-name demo "$@"
