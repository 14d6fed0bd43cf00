#!/usr/bin/env bash
# Re-create the committed baselines in results/baseline/ ON PURPOSE, after a deliberate change
# to a prompt, a tokenizer or a metric. Review `git diff results/baseline` before committing.
#   tiny-sample:            the tiny random VLM (seed 0) on the bundled sample, greedy, hf backend:
#                           catches prompt drift (prompt hashes) and generation-path changes.
#   reference-predictions:  the fixed predictions in results/baseline/predictions.jsonl (scores far
#                           from zero): catches tokenizer and metric drift (compared --exact).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
model=.cache/tiny-vlm
[ -f "$model/config.json" ] || .venv/bin/python scripts/make_tiny_vlm.py "$model"
.venv/bin/mella-eval run --model "$model" --backend hf --tasks culture,linguistic --langs all \
  --no-judge --no-cache --output-dir results/baseline --run-name tiny-sample
.venv/bin/mella-eval run --predictions results/baseline/predictions.jsonl --tasks culture,linguistic \
  --langs all --no-judge --output-dir results/baseline --run-name reference-predictions
rm -rf results/baseline/*/thumbs results/baseline/*/run.log
