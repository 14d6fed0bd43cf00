"""Fast checks of the one prompt rule on tiny checkpoints of each family (no vLLM engine).

The token ids the hf backend feeds the model must equal what transformers' own
`processor.apply_chat_template(..., tokenize=True)` gives (one BOS, image tokens expanded);
vLLM is told the same BOS decision. The hf == vLLM generation tests are in test_families_vllm.py.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mella_eval.backends.chat_prompt import ChatFormat, detect_content_format
from mella_eval.backends.checkpoint_checks import check_vllm_layout
from mella_eval.errors import MellaError
from mella_eval.messages import ImagePart, Message, TextPart, user_message

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests"))
import family_runner  # noqa: E402
import tiny_families  # noqa: E402

HF_FAMILIES = ["qwen2-vl", "qwen2.5-vl", "llava", "llava-next-qwen2", "llava-onevision", "gemma3",
               "idefics3", "internvl", "aya-vision", "mllama"]


@pytest.fixture(scope="session")
def family_dir(tiny_family):
    return tiny_family


def hf_backend(path, **kwargs):
    from mella_eval.backends.hf import HFBackend

    return HFBackend(str(path), dtype="float32", device="cpu", **kwargs)


def reference_ids(backend, request) -> list[int]:
    """transformers' own tokenize=True path, images given inline."""
    conversation = [{"role": m.role, "content": [
        {"type": "text", "text": p.text} if isinstance(p, TextPart) else {"type": "image", "image": p.to_pil()}
        for p in m.parts]} for m in request.messages]
    out = backend.processor.apply_chat_template(conversation, tokenize=True, add_generation_prompt=True,
                                                return_dict=True, return_tensors="pt")
    return out["input_ids"][0].tolist()


@pytest.mark.parametrize("family", HF_FAMILIES)
def test_hf_token_ids_equal_transformers_tokenize_true(family, family_dir):
    backend = hf_backend(family_dir(family))
    for request in family_runner.requests([1, 2], max_new_tokens=4):
        ids = backend.prepare_inputs([request])["input_ids"][0].tolist()
        assert ids == reference_ids(backend, request), family
        bos = backend.tokenizer.bos_token_id
        if bos is not None and bos != backend.tokenizer.pad_token_id:
            assert ids[:2] != [bos, bos]


def test_bos_decision_per_template(family_dir):
    """LLaVA-1.5 (tokenizer adds <s>), Gemma 3 (template emits <bos>), SmolVLM (template starts
    with <|im_start|>, which is its BOS), Qwen (no BOS at all)."""
    from transformers import AutoProcessor

    expected = {"llava": True, "gemma3": False, "idefics3": False, "qwen2-vl": True}
    for family, add in expected.items():
        processor = AutoProcessor.from_pretrained(family_dir(family))
        model_type = json.loads((family_dir(family) / "config.json").read_text())["model_type"]
        assert ChatFormat.from_processor(processor, model_type).probe_add_special_tokens() is add, family


def test_gemma3_prompt_has_one_bos(family_dir):
    backend = hf_backend(family_dir("gemma3"))
    request = family_runner.requests([1], 4)[0]
    ids = backend.prepare_inputs([request])["input_ids"][0].tolist()
    bos = backend.tokenizer.bos_token_id
    assert ids[0] == bos and ids[1] != bos  # was [bos, bos, ...] before


def test_llava_prompt_starts_with_the_tokenizers_bos(family_dir):
    backend = hf_backend(family_dir("llava"))
    ids = backend.prepare_inputs(family_runner.requests([1], 4))["input_ids"][0].tolist()
    assert ids[0] == backend.tokenizer.convert_tokens_to_ids("<s>") and ids.count(ids[0]) == 1


@pytest.mark.parametrize("family", ["gemma3", "mllama", "idefics3"])
def test_hf_batches_take_one_image_list_per_request(family, family_dir, caplog):
    backend = hf_backend(family_dir(family), batch_size=4)
    with caplog.at_level("WARNING", logger="mella_eval"):
        done = backend.generate(family_runner.requests([1, 2, 1], max_new_tokens=2))
    assert [c.status for c in done] == ["ok"] * 3
    assert not [r for r in caplog.records if "batch failed" in r.getMessage()]  # no silent re-run


def test_text_only_template_gets_placeholders_like_vllm(family_dir):
    """A template that takes content as a string: images become "<image>" lines in front of
    the text (vLLM's rule), and the processor expands them."""
    path = family_dir("llava-text-template")
    backend = hf_backend(path)
    assert backend.generate(family_runner.requests([2], 2))[0].status == "ok"
    rendered = backend.chat_format.render([user_message("Hi there", [ImagePart(b"x"), ImagePart(b"y")])])
    assert rendered == "USER: <image>\n<image>\nHi there\nASSISTANT:"
    assert backend.chat_format.content_format == "string"


def test_content_format_detection():
    from transformers import AutoTokenizer  # noqa: F401  (the tokenizer only renders)

    tok = tiny_families.make_tokenizer(["<s>", "</s>", "<pad>"], bos="<s>", eos="</s>", pad="<pad>",
                                       add_bos=True, template=None)
    assert detect_content_format(tiny_families.VICUNA_STRING_TEMPLATE, tok) == "string"
    assert detect_content_format("{% for m in messages %}{{ m['content'] }}{% endfor %}", tok) == "string"
    assert detect_content_format(tiny_families.LLAVA15_TEMPLATE, tok) == "openai"


def test_paligemma_without_template_runs_on_hf(family_dir):
    backend = hf_backend(family_dir("paligemma"))
    done = backend.generate(family_runner.requests([1, 1], max_new_tokens=2))
    assert [c.status for c in done] == ["ok", "ok"]
    assert backend.chat_format.content_format == "none"


def test_other_checkpoints_without_a_template_are_refused_in_one_line(family_dir, tmp_path):
    tok = tiny_families.make_tokenizer(["<s>", "</s>", "<pad>"], bos="<s>", eos="</s>", pad="<pad>",
                                       add_bos=True, template=None)
    with pytest.raises(MellaError, match="llava: the checkpoint has no chat template") as e:
        ChatFormat(None, tok, "llava", "<image>")
    assert "\n" not in str(e.value)


def test_hf_stops_at_the_tokenizers_eos_missing_from_generation_config(family_dir):
    from mella_eval.backends.hf import stop_token_ids

    path = family_dir("qwen2-vl-eos-tokenizer-only")
    backend = hf_backend(path)
    backend._ensure_loaded()
    im_end = backend.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert im_end not in [backend.model.generation_config.eos_token_id]
    assert im_end in backend.stop_token_ids == stop_token_ids(backend.tokenizer, backend.model.generation_config)


def test_transformers5_tower_layout_is_refused_for_vllm(family_dir):
    with pytest.raises(MellaError, match=r"vision_tower\.vision_model") as e:
        check_vllm_layout(str(family_dir("llava-hf5-layout")), "LlavaForConditionalGeneration")
    assert "\n" not in str(e.value)
    check_vllm_layout(str(family_dir("llava")), "LlavaForConditionalGeneration")  # published layout


def test_processor_settings_reach_both_backends_and_the_cache_key(family_dir):
    from mella_eval.backends.vllm_backend import VLLMBackend

    path = family_dir("qwen2-vl")
    small = {"processor_min_pixels": 28 * 28, "processor_max_pixels": 56 * 56}
    request = family_runner.requests([1], 2)
    default_tokens = hf_backend(path).prepare_inputs(request)["input_ids"].shape[1]
    capped = hf_backend(path, model_args=small)
    assert capped.prepare_inputs(request)["input_ids"].shape[1] < default_tokens
    vllm = VLLMBackend(str(path), model_args={**small, "max_num_seqs": 4})
    assert vllm.engine_args["mm_processor_kwargs"] == {"min_pixels": 784, "max_pixels": 3136}
    assert not any(k.startswith("processor_") for k in vllm.engine_args)
    assert vllm.cache_identity() != VLLMBackend(str(path)).cache_identity()
    assert hf_backend(path, model_args=small).cache_identity() != hf_backend(path).cache_identity()
    recorded = {k: v for k, v in vllm.cache_identity()["model_args"].items() if k.startswith("processor_")}
    assert recorded == capped.cache_identity()["model_args"] == small


def test_builders_write_no_more_than_a_few_megabytes(family_dir):
    for family in ("llava", "gemma3", "internvl"):
        size = sum(p.stat().st_size for p in family_dir(family).rglob("*") if p.is_file())
        assert size < 8e6, (family, size)


def test_vllm_start_up_message_names_the_root_cause():
    from mella_eval.backends.vllm_backend import _root_cause

    try:
        try:
            {}["\n"]
        except KeyError as inner:
            raise RuntimeError("Engine core initialization failed. See root cause above.") from inner
    except RuntimeError as outer:
        assert _root_cause(outer) == "KeyError: '\\n'"
    assert _root_cause(TypeError("bad\nsecond line")) == "TypeError: bad"


def test_onevision_multi_image_requests_are_refused_per_sample_on_vllm():
    from mella_eval.backends.checkpoint_checks import vllm_request_refusal

    assert vllm_request_refusal("llava_onevision", 1) is None
    assert "base resolution" in vllm_request_refusal("llava_onevision", 2)
    assert vllm_request_refusal("qwen2_vl", 3) is None
