"""Dev/CI-only workaround, installed into .venv by scripts/setup_env.sh (never used by the library).

PyPI's torchvision wheel is built against CUDA torch. Beside the CPU torch wheel its C extension
does not load, so `torchvision::nms` / `torchvision::qnms` are never defined and
`import torchvision` fails in its meta registrations. transformers needs torchvision to build
the Qwen2-VL processor (the tiny test model). Defining the two op schemas before torchvision is
first imported lets it import; nms itself is never called by an image-captioning VLM.

A meta-path hook does this lazily, so interpreters that never import torchvision (the CLI's
start-up path) do not pay for importing torch.
"""

import sys


class _DefineTorchvisionOps:
    def find_spec(self, name, path=None, target=None):
        if name != "torchvision":
            return None
        sys.meta_path.remove(self)
        try:
            import torch

            lib = torch.library.Library("torchvision", "FRAGMENT")
            for schema in (
                "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
                "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
            ):
                try:
                    lib.define(schema)
                except RuntimeError:
                    pass  # already defined: the real extension loaded
            globals()["_keep_library_alive"] = lib
        except Exception:
            pass
        return None  # let the normal finders import torchvision


if not any(type(f).__name__ == "_DefineTorchvisionOps" for f in sys.meta_path):
    sys.meta_path.insert(0, _DefineTorchvisionOps())
