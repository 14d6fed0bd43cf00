"""Run a tiny family checkpoint through one backend on fixed requests; print JSON (for tests).

    python tests/family_runner.py MODEL_DIR hf|vllm|both OUT_JSON [--images 1,2] [--model-args K=V,...]

One process per checkpoint (both: hf first, its model released, then vLLM), so each vLLM
engine starts and stops on its own.
Writes to OUT_JSON (vLLM logs on stdout) {BACKEND: result} where a result is
{"completions": [{"text", "status", "reason", "usage"}, ...], "identity", "warnings"} or,
when the backend refuses the checkpoint, {"error": "the one-line message"}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE_IMAGES = sorted((REPO / "tasks" / "data" / "mella_sample" / "images").glob("*.jpg"))
PROMPTS = ["Describe the image in one sentence.", "Co je na tomto obrázku? Odpovězte stručně.",
           "ในภาพนี้มีอะไรบ้าง ตอบสั้น ๆ"]


def requests(image_counts: list[int], max_new_tokens: int):
    from mella_eval.build import GenerationRequest
    from mella_eval.messages import ImagePart, user_message
    from mella_eval.tasks import GenerationSettings

    settings = GenerationSettings(max_new_tokens=max_new_tokens)
    out = []
    for i, count in enumerate(image_counts):
        images = [ImagePart(SAMPLE_IMAGES[(i + k) % len(SAMPLE_IMAGES)].read_bytes()) for k in range(count)]
        out.append(GenerationRequest("families", "xx", str(i), (user_message(PROMPTS[i % len(PROMPTS)], images),),
                                     settings))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("backend", choices=["hf", "vllm", "both"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--images", default="1,2,1", help="image count of each request")
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--model-args", default="")
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    from mella_eval.config import parse_model_args
    from mella_eval.errors import MellaError

    import logging

    warnings: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: warnings.append(record.getMessage())
    handler.setLevel(logging.WARNING)
    logging.getLogger("mella_eval").addHandler(handler)
    model_args = parse_model_args(args.model_args)
    reqs = requests([int(n) for n in args.images.split(",")], args.max_new_tokens)
    results = {}
    for name in (["hf", "vllm"] if args.backend == "both" else [args.backend]):
        warnings.clear()
        try:
            if name == "hf":
                from mella_eval.backends.hf import HFBackend

                backend = HFBackend(args.model, dtype="float32", device="cpu", batch_size=args.batch_size,
                                    model_args=model_args)
            else:
                from mella_eval.backends.vllm_backend import VLLMBackend

                backend = VLLMBackend(args.model, dtype="float32", max_model_len=1024,
                                      model_args={"max_num_seqs": 4, **model_args})
            completions = backend.generate(reqs)
            identity = backend.cache_identity()
            backend.close()
        except MellaError as e:
            results[name] = {"error": str(e)}
            continue
        results[name] = {"completions": [c.__dict__ for c in completions], "identity": identity,
                         "warnings": list(warnings)}
    args.out.write_text(json.dumps(results, default=str, ensure_ascii=False), encoding="utf-8")
    return 0

if __name__ == "__main__":
    sys.exit(main())
