"""Peak memory, time to the first request and run-folder size of whole runs at two sizes.

    .venv/bin/python benchmarks/memory_scale.py [--sizes 800,12800] [--image-kb 100]
                                                [--modes predictions,openai] [--work DIR]

Writes a captioning dataset of N samples (two languages), each with its own ~100 KB JPEG (one
noise image made distinct per sample by a JPEG comment, so every sample has its own file and
sha256), a task file with cheap metrics (chrf, rouge_l) and a predictions file, then runs
`python -m mella_eval run` in a subprocess:
- `--predictions`: scores the predictions file;
- `--backend openai`: against tests/fault_server.py on 127.0.0.1 (in this process, a thread;
  it answers at once), a fresh --cache-dir per run.
For each run it prints the harness process's peak RSS (VmHWM of /proc/self/status, read by a
wrapper, this script's `--child`, just before the run's process exits; not ru_maxrss, which
Linux carries over from the forking parent across fork + exec), the wall time,
the time from the subprocess's start to the first request's arrival at the server (openai),
and the run folder's size (with the thumbs/ part). Last, per mode, the peak RSS growth per
sample between the smallest and the largest size. With --phases it also prints the peak RSS
the wrapper saw at the end of each phase
of `mella_eval.evaluator.run` (load, build, generate, records, guards, metrics, summarize,
write, thumbnails), to show where the memory goes. Targets (issue 12): <= 10 KB per sample,
run folder <= 40 MB at 12,800 samples, first request within 5 s at 12,800.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

LANGS = ("cs", "hu")
TASK_YAML = """\
name: memscale
version: 1
description: captioning at scale (memory benchmark)
dataset:
  path: data
fields: {id: id, lang: lang, image: image, references: references}
prompts:
  cs: Napište krátký popisek tohoto obrázku jednou větou v češtině.
  hu: Írj egy rövid, egymondatos képaláírást ehhez a képhez magyarul.
generation: {max_new_tokens: 16, temperature: 0.0}
metrics: [chrf, rouge_l]
"""


def base_jpeg(target_bytes: int) -> bytes:
    """A noise JPEG of about `target_bytes` (noise does not compress: size ~ pixels)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    side = 64
    while True:
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=85)
        if buf.tell() >= target_bytes:
            return buf.getvalue()
        side += 16


def with_comment(jpeg: bytes, text: str) -> bytes:
    """The same picture with a COM segment after SOI: other bytes, other sha256."""
    payload = text.encode("ascii")
    return jpeg[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def make_workload(root: Path, n: int, image_kb: int) -> Path:
    """root/n<N>/{task.yaml, data/samples.jsonl, data/images/*.jpg, predictions.jsonl}."""
    folder = root / f"n{n}-{image_kb}kb"
    if (folder / "predictions.jsonl").is_file():
        return folder
    images = folder / "data" / "images"
    images.mkdir(parents=True, exist_ok=True)
    jpeg = base_jpeg(image_kb * 1000)
    with (folder / "data" / "samples.jsonl").open("w", encoding="utf-8") as rows, \
            (folder / "predictions.jsonl.tmp").open("w", encoding="utf-8") as preds:
        for i in range(n):
            lang = LANGS[i % len(LANGS)]
            name = f"img{i:06d}.jpg"
            (images / name).write_bytes(with_comment(jpeg, f"sample {i}"))
            sid = f"s{i:06d}"
            refs = [f"a picture of noise number {i}", f"random coloured dots, sample {i}"]
            rows.write(json.dumps({"id": sid, "lang": lang, "image": f"images/{name}",
                                   "references": refs}) + "\n")
            preds.write(json.dumps({"task": "memscale", "lang": lang, "id": sid,
                                    "prediction": f"a picture of dots {i % 97}"}) + "\n")
    (folder / "task.yaml").write_text(TASK_YAML, encoding="utf-8")
    (folder / "predictions.jsonl.tmp").replace(folder / "predictions.jsonl")
    return folder


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


PHASES = ("_load", "build_requests", "_generate", "make_records", "annotate_guards",
          "add_sample_metrics", "summarize", "write_run", "write_thumbnails")


def peak_rss_mb() -> float:
    """This process's own high-water RSS (its address space only)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc/self/status (Linux only)")


def child(marks_path: str, argv: list[str]) -> None:
    """`mella-eval run ARGV` in this process; the peak RSS (MB) after each phase and at the end
    -> marks_path."""
    import mella_eval.evaluator as evaluator
    from mella_eval.cli import main as cli_main

    marks = []

    def wrapped(name, fn):
        def call(*args, **kwargs):
            result = fn(*args, **kwargs)
            marks.append((name.lstrip("_"), peak_rss_mb()))
            return result
        return call

    for name in PHASES:
        setattr(evaluator, name, wrapped(name, getattr(evaluator, name)))
    try:
        code = cli_main(argv)
    except SystemExit as e:
        code = e.code
    Path(marks_path).write_text(json.dumps({"phases": marks, "peak": peak_rss_mb()}), encoding="utf-8")
    raise SystemExit(code)


def run_once(workload: Path, mode: str, out: Path, phases: bool = False) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    marks_path = out / "phases.json"
    command = [sys.executable, __file__, "--child", str(marks_path), "--", "run", "--tasks", str(workload / "task.yaml"),
               "--include-path", str(workload), "--langs", ",".join(LANGS),
               "--output-dir", str(out / "runs"), "--run-name", "bench"]
    server = None
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "MELLA_BENCH_KEY": "sk-bench"}
    if mode == "predictions":
        command += ["--predictions", str(workload / "predictions.jsonl"), "--no-cache"]
    else:
        from fault_server import FaultServer, reply

        server = FaultServer(default=reply("a picture of dots", usage={"prompt_tokens": 1,
                                                                       "completion_tokens": 1}),
                             model="fault-model").start()
        command += ["--backend", "openai", "--model", "fault-model", "--base-url", server.base_url,
                    "--api-key-env", "MELLA_BENCH_KEY", "--cache-dir", str(out / "cache")]
    try:
        started = time.time()
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        stderr = proc.stderr.read()
        status = os.waitpid(proc.pid, 0)[1]
        wall = time.time() - started
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):  # 1: failure gate; still a complete run
            raise SystemExit(f"run failed ({code}): {stderr[-2000:]}")
        first = (min(r.wall for r in server.requests) - started) if server and server.requests else None
    finally:
        if server is not None:
            server.stop()
    run_dir = out / "runs" / "bench"
    thumbs = run_dir / "thumbs"
    measured = json.loads(marks_path.read_text())
    return {"mode": mode, "peak_rss_mb": measured["peak"], "wall_s": wall,
            "phases": measured["phases"] if phases else [],
            "first_request_s": first, "run_folder_mb": folder_bytes(run_dir) / 1e6,
            "thumbs_mb": folder_bytes(thumbs) / 1e6 if thumbs.is_dir() else 0.0,
            "thumbs": len(list(thumbs.glob("*.jpg"))) if thumbs.is_dir() else 0}


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] == "--child" and sys.argv[3] == "--":
        return child(sys.argv[2], sys.argv[4:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="800,12800")
    parser.add_argument("--image-kb", type=int, default=100)
    parser.add_argument("--modes", default="predictions,openai")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "mella-memscale",
                        help="datasets are kept here between calls (re-used)")
    parser.add_argument("--phases", action="store_true",
                        help="also print the peak RSS reached by the end of each phase")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    results = {}
    for n in sizes:
        workload = make_workload(args.work, n, args.image_kb)
        for mode in modes:
            out = Path(tempfile.mkdtemp(prefix=f"run-{mode}-{n}-", dir=args.work))
            try:
                r = run_once(workload, mode, out, args.phases)
            finally:
                shutil.rmtree(out, ignore_errors=True)
            results[(mode, n)] = r
            first = f"{r['first_request_s']:.2f} s" if r["first_request_s"] is not None else "-"
            print(f"{mode:12s} n={n:6d}  peak RSS {r['peak_rss_mb']:8.1f} MB  wall {r['wall_s']:6.1f} s"
                  f"  first request {first:>8s}  run folder {r['run_folder_mb']:7.1f} MB "
                  f"(thumbs {r['thumbs_mb']:.1f} MB, {r['thumbs']} files)", flush=True)
            if r["phases"]:
                print("    peak RSS by the end of: " + ", ".join(f"{name} {mb:.0f}"
                                                            for name, mb in r["phases"]) + " (MB)")
    lo, hi = min(sizes), max(sizes)
    if lo != hi:
        for mode in modes:
            growth = (results[(mode, hi)]["peak_rss_mb"] - results[(mode, lo)]["peak_rss_mb"]) * 1024
            print(f"{mode:12s} peak RSS growth per sample ({lo} -> {hi}): "
                  f"{growth / (hi - lo):.1f} KB (target <= 10)")


if __name__ == "__main__":
    main()
