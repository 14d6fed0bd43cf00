#!/usr/bin/env bash
# The demo: set up .venv, build a tiny random-weight VLM offline, and run the whole evaluation
# on the bundled sample -- both tasks, all 8 languages, the vLLM engine, the LLM judge -- then
# write the HTML report and a leaderboard. The model's weights are random, so its captions are
# gibberish: the demo shows the plumbing end to end, not a score worth reading.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh

export OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# No VLLM_CPU_KVCACHE_SPACE: mella-eval picks a KV-cache size that fits the free memory (a value
# set here or in the environment wins). The engines' output is in $out/demo/run.log (-v: live).
export MELLA_CACHE_DIR=${MELLA_CACHE_DIR:-.cache/responses}  # re-running the demo reuses every response
model=.cache/tiny-vlm
out=${MELLA_DEMO_OUTPUT_DIR:-results}
[ -f "$model/config.json" ] || .venv/bin/python scripts/make_tiny_vlm.py "$model"

# The tiny model also plays the judge (in-process vLLM, after the model under test is released).
# --wrong-language flag: its gibberish is rarely in the right language, and the default (zero)
# would score it 0 without asking the judge at all.
.venv/bin/mella-eval run --model "$model" --tasks culture,linguistic --langs all \
  --max-model-len 4096 --judge-model "$model" --judge-max-model-len 4096 --wrong-language flag \
  --output-dir "$out" --run-name demo "$@"
.venv/bin/mella-eval report "$out/demo"
.venv/bin/mella-eval export "$out/demo" --format md -o "$out/demo/leaderboard.md"
