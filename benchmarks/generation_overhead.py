"""Overhead of mella-eval's generation phase over one bare `LLM.chat` call.

    python benchmarks/generation_overhead.py --model DIR [--requests 256] [--max-tokens 32]
                                             [--image-size 640x480] [--stop TEXT ...]

The same requests (the bundled sample's images and prompts, cycled and numbered so no two are
identical) go once through mella-eval's generation phase (request building, message conversion,
image decoding, the vLLM backend, a response store committing each result) and once through a
single bare `LLM.chat` call with identical conversations and sampling parameters, on the same
engine (prefix caching off, so neither run profits from the other). Each is timed `--repeats`
times alternately; the best times are compared. Last line: `ratio=X.XX` (harness / bare);
target <= 1.05 (issue 12). The harness's answers are checked equal to the bare call's.

`--stop TEXT` (repeatable) ends an answer at the first TEXT it produces, on both sides: with a
stop string the model emits at random points, answers end at different lengths, as a real
model's do (a tiny random model otherwise always runs to --max-tokens); the answers' length
spread is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def build_requests(n: int, max_tokens: int, salt: str, stop: tuple[str, ...] = ()):
    from dataclasses import replace

    from mella_eval.build import build_requests as build
    from mella_eval.data import load_samples
    from mella_eval.tasks import TaskRegistry

    task = TaskRegistry().resolve("linguistic")[0]
    samples = load_samples(task, task.langs)
    settings = replace(task.generation, max_new_tokens=max_tokens, stop=tuple(stop))
    base = build(task, samples, settings)
    requests = []
    for i in range(n):
        r = base[i % len(base)]
        # A distinct prompt per request: no duplicate work for either side.
        task_prompt = {**task.prompts, r.lang: f"{task.prompts[r.lang]} ({salt}{i})"}
        sample = samples[i % len(samples)]
        sample = replace(sample, id=f"{sample.id}-{salt}{i}")
        requests.extend(build(replace(task, prompts=task_prompt), [sample], settings))
    return requests


def with_images(requests, size: str, seed: int = 0):
    """The requests with each image replaced by a distinct JPEG of `size` ("640x480"): a smooth
    colour field with noise, about the size of a photo, so decoding costs what real images do."""
    import io
    from dataclasses import replace

    import numpy as np
    from PIL import Image

    from mella_eval.messages import ImagePart, Message

    width, height = (int(v) for v in size.lower().split("x"))
    rng = np.random.default_rng(seed)
    out = []
    for i, request in enumerate(requests):
        gradient = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
        pixels = (gradient * rng.random(3) + rng.normal(0, 24, (height, width, 3))).clip(0, 255)
        buffer = io.BytesIO()
        Image.fromarray(pixels.astype(np.uint8)).save(buffer, "JPEG", quality=90)
        part = ImagePart(buffer.getvalue())
        messages = tuple(Message(m.role, tuple(part if isinstance(p, ImagePart) else p for p in m.parts))
                         for m in request.messages)
        out.append(replace(request, messages=messages))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model folder (e.g. from scripts/make_tiny_vlm.py)")
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-model-len", type=int, default=512)
    parser.add_argument("--image-size", default=None,
                        help="replace the sample images by distinct JPEGs of WxH (e.g. 640x480)")
    parser.add_argument("--stop", action="append", default=[],
                        help="stop string (repeatable): answers of varied length")
    args = parser.parse_args(argv)
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

    from vllm import SamplingParams

    from mella_eval.backends.vllm_backend import VLLMBackend
    from mella_eval.generate import generate_all
    from mella_eval.messages import to_vllm_messages
    from mella_eval.store import ResponseStore

    backend = VLLMBackend(args.model, max_model_len=args.max_model_len,
                          model_args={"enable_prefix_caching": False, "max_num_seqs": 64})
    warm = build_requests(8, 4, "warm")
    backend.generate(warm)  # starts the engine; not timed

    harness_times, bare_times = [], []
    for repeat in range(args.repeats):
        # Harness: the generation phase as a run uses it, with a real store.
        requests = build_requests(args.requests, args.max_tokens, f"r{repeat}-", tuple(args.stop))
        if args.image_size:
            requests = with_images(requests, args.image_size, seed=repeat)
        with tempfile.TemporaryDirectory() as cache, ResponseStore(cache) as store:
            t0 = time.perf_counter()
            completions, stats = generate_all(backend, requests, store)
            harness_times.append(time.perf_counter() - t0)
        assert stats.new == args.requests and all(c.status == "ok" for c in completions.values())

        # Bare: the same conversations (prefix caching is off), images decoded beforehand, in one
        # LLM.chat call; greedy answers must be the harness's.
        conversations = [to_vllm_messages(r.messages) for r in requests]
        params = SamplingParams(temperature=0.0, top_p=1.0, max_tokens=args.max_tokens, seed=0,
                                stop=list(args.stop) or None)
        t0 = time.perf_counter()
        outputs = backend.llm.chat(conversations, params, use_tqdm=False)
        bare_times.append(time.perf_counter() - t0)
        assert len(outputs) == args.requests
        mismatched = sum(completions[r.key].text != out.outputs[0].text.strip()
                         for r, out in zip(requests, outputs))
        assert mismatched == 0, f"{mismatched} of {args.requests} answers differ from bare LLM.chat"
        lengths = sorted(len(out.outputs[0].token_ids) for out in outputs)
        print(f"repeat {repeat}: harness {harness_times[-1]:.3f} s, bare LLM.chat {bare_times[-1]:.3f} s; "
              f"answer tokens min {lengths[0]} median {lengths[len(lengths) // 2]} max {lengths[-1]}",
              flush=True)
    backend.close()
    harness, bare = min(harness_times), min(bare_times)
    print(f"requests={args.requests} max_tokens={args.max_tokens} best harness={harness:.3f} s "
          f"best bare={bare:.3f} s (bare excludes building conversations and decoding images)")
    print(f"ratio={harness / bare:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
