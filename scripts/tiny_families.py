#!/usr/bin/env python3
"""Tiny random-weight checkpoints of the VLM families people evaluate, built offline in seconds.

    python scripts/tiny_families.py FAMILY OUT_DIR [--seed 0]
    python scripts/tiny_families.py --list

Each family is the real architecture class of transformers, saved in the layout its published
checkpoints use (so vLLM loads it as it loads them), with the shape of its real chat template
(BOS emitted by the template or added by the tokenizer, image placeholders, turn markers) and a
byte-level BPE tokenizer trained on the few multilingual lines of `make_tiny_vlm.CORPUS` plus the
family's special tokens. Vision towers see 28-56 px images (a handful of vision tokens); the
language models have 2 layers of width 64-128. Nothing is downloaded; weights are random (seeded),
so outputs are gibberish: the checkpoints test plumbing (hf == vLLM), not quality.

As in `make_tiny_vlm.py`, the output rows of tokens that must not be generated (special tokens,
byte pieces that are not whole UTF-8 characters, control characters, whitespace only) are zeroed, so greedy
decoding runs to `max_new_tokens` and decodes to the same text at once or incrementally. Families
whose vLLM implementation always ties the output layer to the input embeddings (Gemma) get the
same rows zeroed in the tied matrix.

Variants that reproduce problems seen with real checkpoints:
  llava-text-template   LLaVA-1.5 whose chat template takes content as a string (an LLM's template)
  llava-hf5-layout      LLaVA-1.5 saved as transformers 5.x saves it (vision_tower.embeddings...)
  gemma3-no-newlines    Gemma 3 whose vocabulary has no "\\n" tokens
  qwen2-vl-eos-tokenizer-only  Qwen2-VL whose generation_config.json lacks <|im_end|>
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_tiny_vlm  # noqa: E402  (the Qwen2-VL builder and the shared corpus)
from tiny_family_tokenizers import (  # noqa: E402
    AYA_TEMPLATE, GEMMA3_TEMPLATE, LLAVA15_TEMPLATE, MLLAMA_TEMPLATE, QWEN_SPECIALS, SMOLVLM_TEMPLATE,
    VICUNA_STRING_TEMPLATE, chatml_image, make_tokenizer, unemittable_ids)

__all__ = ["ALL_FAMILIES", "build_family", "make_tokenizer", "LLAVA15_TEMPLATE", "VICUNA_STRING_TEMPLATE"]


# ---------------------------------------------------------------------------------------------
# Sub-configs
# ---------------------------------------------------------------------------------------------

def llama_text(tokenizer, **extra) -> dict:
    return dict(model_type="llama", vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, head_dim=32,
                max_position_embeddings=4096, rms_norm_eps=1e-6, tie_word_embeddings=False,
                bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id, **extra)


def qwen2_text(tokenizer) -> dict:
    return {**llama_text(tokenizer), "model_type": "qwen2", "use_sliding_window": False}


def clip_vision(image_size: int) -> dict:
    return dict(model_type="clip_vision_model", hidden_size=64, intermediate_size=128,
                num_hidden_layers=2, num_attention_heads=2, image_size=image_size, patch_size=14,
                projection_dim=64)


def siglip_vision(image_size: int) -> dict:
    # No attention-pooling head: the VLMs built on SigLIP (PaliGemma, Gemma 3, Aya Vision,
    # LLaVA-OneVision) use the patch features, and their checkpoints set vision_use_head=False.
    return dict(model_type="siglip_vision_model", hidden_size=64, intermediate_size=128,
                num_hidden_layers=2, num_attention_heads=2, image_size=image_size, patch_size=14,
                vision_use_head=False)


# ---------------------------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------------------------

def build_llava(template=LLAVA15_TEMPLATE):
    from transformers import CLIPImageProcessor, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    tok = make_tokenizer(["<unk>", "<s>", "</s>", "<image>", "<pad>"], bos="<s>", eos="</s>", pad="<pad>",
                         unk="<unk>", add_bos=True, template=template)
    image = CLIPImageProcessor(size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28})
    processor = LlavaProcessor(image_processor=image, tokenizer=tok, patch_size=14,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=template)
    config = LlavaConfig(vision_config=clip_vision(28), text_config=llama_text(tok),
                         image_token_index=tok.convert_tokens_to_ids("<image>"), vision_feature_layer=-2,
                         vision_feature_select_strategy="default", tie_word_embeddings=False)
    return tok, processor, LlavaForConditionalGeneration(config)


def build_llava_next_qwen2():
    """Pangea-7B: LLaVA-NeXT (any-resolution tiles) over a Qwen2 LLM, ChatML with "<image>\\n"."""
    from transformers import LlavaNextConfig, LlavaNextForConditionalGeneration, LlavaNextImageProcessor
    from transformers import LlavaNextProcessor

    template = chatml_image("<image>\n")
    tok = make_tokenizer(QWEN_SPECIALS + ["<image>"], bos=None, eos="<|im_end|>", pad="<|endoftext|>",
                         add_bos=False, template=template)
    pinpoints = [[28, 28], [28, 56], [56, 28]]
    image = LlavaNextImageProcessor(size={"shortest_edge": 28}, crop_size={"height": 28, "width": 28},
                                    image_grid_pinpoints=pinpoints)
    processor = LlavaNextProcessor(image_processor=image, tokenizer=tok, patch_size=14,
                                   vision_feature_select_strategy="default", num_additional_image_tokens=1,
                                   chat_template=template)
    config = LlavaNextConfig(vision_config=clip_vision(28), text_config=qwen2_text(tok),
                             image_token_index=tok.convert_tokens_to_ids("<image>"), image_grid_pinpoints=pinpoints,
                             vision_feature_layer=-2, vision_feature_select_strategy="default",
                             tie_word_embeddings=False)
    return tok, processor, LlavaNextForConditionalGeneration(config)


def build_llava_onevision():
    from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration
    from transformers import LlavaOnevisionImageProcessor, LlavaOnevisionProcessor, LlavaOnevisionVideoProcessor

    template = chatml_image("<image>\n")
    tok = make_tokenizer(QWEN_SPECIALS + ["<image>", "<video>"], bos=None, eos="<|im_end|>",
                         pad="<|endoftext|>", add_bos=False, template=template)
    pinpoints = [[28, 28], [28, 56], [56, 28]]
    image = LlavaOnevisionImageProcessor(size={"height": 28, "width": 28}, image_grid_pinpoints=pinpoints)
    video = LlavaOnevisionVideoProcessor(size={"height": 28, "width": 28})
    processor = LlavaOnevisionProcessor(image_processor=image, video_processor=video, tokenizer=tok,
                                        num_image_tokens=4, vision_feature_select_strategy="full",
                                        chat_template=template)
    config = LlavaOnevisionConfig(vision_config=siglip_vision(28), text_config=qwen2_text(tok),
                                  image_token_index=tok.convert_tokens_to_ids("<image>"),
                                  video_token_index=tok.convert_tokens_to_ids("<video>"),
                                  image_grid_pinpoints=pinpoints, vision_feature_layer=-1,
                                  vision_feature_select_strategy="full", tie_word_embeddings=False)
    return tok, processor, LlavaOnevisionForConditionalGeneration(config)


def build_gemma3(newline_tokens: bool = True):
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessor
    from transformers import Gemma3Processor

    named = {"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>", "image_token": "<image_soft_token>"}
    tok = make_tokenizer(["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", *named.values()],
                         bos="<bos>", eos="<eos>", pad="<pad>", unk="<unk>", add_bos=True,
                         template=GEMMA3_TEMPLATE, newline_tokens=newline_tokens, named=named)
    image = Gemma3ImageProcessor(size={"height": 56, "width": 56}, do_pan_and_scan=False)
    processor = Gemma3Processor(image_processor=image, tokenizer=tok, image_seq_length=4,
                                chat_template=GEMMA3_TEMPLATE)
    ids = {k: tok.convert_tokens_to_ids(v) for k, v in named.items()}
    text = {**llama_text(tok), "model_type": "gemma3_text", "sliding_window": 512,
            "query_pre_attn_scalar": 32, "tie_word_embeddings": True}
    config = Gemma3Config(text_config=text, vision_config=siglip_vision(56), mm_tokens_per_image=4,
                          boi_token_index=ids["boi_token"], eoi_token_index=ids["eoi_token"],
                          image_token_index=ids["image_token"], tie_word_embeddings=True)
    model = Gemma3ForConditionalGeneration(config)
    model.generation_config.eos_token_id = [tok.eos_token_id, tok.convert_tokens_to_ids("<end_of_turn>")]
    return tok, processor, model


def build_idefics3():
    """SmolVLM: Idefics3 (pixel-shuffled SigLIP tiles) over a Llama LLM."""
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3ImageProcessor
    from transformers import Idefics3Processor

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<end_of_utterance>",
                "<fake_token_around_image>", "<image>", "<global-img>"]
    tok = make_tokenizer(specials, bos="<|im_start|>", eos="<end_of_utterance>", pad="<|im_end|>",
                         add_bos=True, template=SMOLVLM_TEMPLATE)
    image = Idefics3ImageProcessor(size={"longest_edge": 56}, max_image_size={"longest_edge": 28},
                                   do_image_splitting=True)
    processor = Idefics3Processor(image_processor=image, tokenizer=tok, image_seq_len=1,
                                  chat_template=SMOLVLM_TEMPLATE)
    vision = dict(model_type="idefics3_vision", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=2, image_size=28, patch_size=14)
    config = Idefics3Config(vision_config=vision, text_config=llama_text(tok), scale_factor=2,
                            image_token_id=tok.convert_tokens_to_ids("<image>"), tie_word_embeddings=False)
    return tok, processor, Idefics3ForConditionalGeneration(config)


def build_paligemma():
    """PaliGemma: no chat template; the processor writes <image>*n + <bos> + prompt + "\\n"."""
    from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration, PaliGemmaProcessor
    from transformers import SiglipImageProcessor

    tok = make_tokenizer(["<pad>", "<eos>", "<bos>", "<unk>", "<image>"], bos="<bos>", eos="<eos>", pad="<pad>",
                         unk="<unk>", add_bos=True, template=None, newline_tokens=True,
                         named={"image_token": "<image>"})
    image = SiglipImageProcessor(size={"height": 28, "width": 28}, image_seq_length=4)
    processor = PaliGemmaProcessor(image_processor=image, tokenizer=tok)
    text = {**llama_text(tok), "model_type": "gemma", "tie_word_embeddings": True}
    config = PaliGemmaConfig(vision_config={**siglip_vision(28), "projection_dim": 64}, text_config=text,
                             image_token_index=tok.convert_tokens_to_ids("<image>"), projection_dim=64,
                             tie_word_embeddings=True)
    return tok, processor, PaliGemmaForConditionalGeneration(config)


def build_internvl():
    """InternVL3 in transformers' own format (InternVLForConditionalGeneration) over Qwen2."""
    from transformers import GotOcr2ImageProcessor, InternVLConfig, InternVLForConditionalGeneration
    from transformers import InternVLProcessor, InternVLVideoProcessor

    template = chatml_image("<IMG_CONTEXT>\n")
    named = {"start_image_token": "<img>", "end_image_token": "</img>", "context_image_token": "<IMG_CONTEXT>",
             "video_token": "<video>"}
    tok = make_tokenizer(QWEN_SPECIALS + list(named.values()), bos=None, eos="<|im_end|>", pad="<|endoftext|>",
                         add_bos=False, template=template, named=named)
    image = GotOcr2ImageProcessor(size={"height": 28, "width": 28}, crop_to_patches=False)
    video = InternVLVideoProcessor(size={"height": 28, "width": 28})
    processor = InternVLProcessor(image_processor=image, tokenizer=tok, video_processor=video,
                                  image_seq_length=1, chat_template=template)
    vision = dict(model_type="intern_vit", hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=2, image_size=[28, 28], patch_size=[14, 14])
    config = InternVLConfig(vision_config=vision, text_config=qwen2_text(tok), downsample_ratio=0.5,
                            image_token_id=tok.convert_tokens_to_ids("<IMG_CONTEXT>"), tie_word_embeddings=False)
    return tok, processor, InternVLForConditionalGeneration(config)


def build_aya_vision():
    from transformers import AyaVisionConfig, AyaVisionForConditionalGeneration, AyaVisionProcessor
    from transformers import GotOcr2ImageProcessor

    specials = ["<PAD>", "<UNK>", "<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>", "<|START_OF_TURN_TOKEN|>",
                "<|USER_TOKEN|>", "<|CHATBOT_TOKEN|>", "<|SYSTEM_TOKEN|>", "<image>", "<|START_OF_IMG|>",
                "<|END_OF_IMG|>", "<|IMG_PATCH|>", "<|IMG_LINE_BREAK|>"]
    tok = make_tokenizer(specials, bos="<BOS_TOKEN>", eos="<|END_OF_TURN_TOKEN|>", pad="<PAD>", unk="<UNK>",
                         add_bos=True, template=AYA_TEMPLATE)
    image = GotOcr2ImageProcessor(size={"height": 28, "width": 28}, crop_to_patches=False)
    processor = AyaVisionProcessor(image_processor=image, tokenizer=tok, patch_size=14, img_size=28,
                                   downsample_factor=2, chat_template=AYA_TEMPLATE)
    text = {**llama_text(tok), "model_type": "cohere2", "sliding_window": 512, "tie_word_embeddings": True}
    config = AyaVisionConfig(vision_config=siglip_vision(28), text_config=text, downsample_factor=2,
                             image_token_index=tok.convert_tokens_to_ids("<|IMG_PATCH|>"), adapter_layer_norm_eps=1e-6)
    return tok, processor, AyaVisionForConditionalGeneration(config)


def build_mllama():
    from transformers import MllamaConfig, MllamaForConditionalGeneration, MllamaImageProcessor
    from transformers import MllamaProcessor

    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                "<|eot_id|>", "<|image|>", "<|finetune_right_pad_id|>"]
    tok = make_tokenizer(specials, bos="<|begin_of_text|>", eos="<|eot_id|>", pad="<|finetune_right_pad_id|>",
                         add_bos=True, template=MLLAMA_TEMPLATE)
    image = MllamaImageProcessor(size={"height": 28, "width": 28}, max_image_tiles=4)
    processor = MllamaProcessor(image_processor=image, tokenizer=tok, chat_template=MLLAMA_TEMPLATE)
    vision = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_global_layers=1,
                  attention_heads=2, image_size=28, patch_size=14, max_num_tiles=4, vision_output_dim=128,
                  intermediate_layers_indices=[0])
    text = dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=2, num_key_value_heads=1, cross_attention_layers=[1],
                bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                tie_word_embeddings=False)
    config = MllamaConfig(vision_config=vision, text_config=text,
                          image_token_index=tok.convert_tokens_to_ids("<|image|>"))
    return tok, processor, MllamaForConditionalGeneration(config)


FAMILIES = {
    "llava": build_llava,
    "llava-next-qwen2": build_llava_next_qwen2,
    "llava-onevision": build_llava_onevision,
    "gemma3": build_gemma3,
    "idefics3": build_idefics3,
    "paligemma": build_paligemma,
    "internvl": build_internvl,
    "aya-vision": build_aya_vision,
    "mllama": build_mllama,
    # variants
    "llava-text-template": lambda: build_llava(VICUNA_STRING_TEMPLATE),
    "llava-hf5-layout": build_llava,
    "gemma3-no-newlines": lambda: build_gemma3(newline_tokens=False),
}
QWEN_FAMILIES = ("qwen2-vl", "qwen2.5-vl", "qwen2-vl-eos-tokenizer-only")
ALL_FAMILIES = (*QWEN_FAMILIES, *FAMILIES)


# ---------------------------------------------------------------------------------------------
# Weights, layout, saving
# ---------------------------------------------------------------------------------------------

def randomize_and_ban(model, banned: list[int], seed: int):
    """Seeded random weights; banned ids can never win a greedy step (their logit is exactly 0)."""
    import torch

    torch.manual_seed(seed)
    model = model.to(torch.float32).eval()
    # With tied input/output embeddings, large input rows make every step repeat its input token.
    tied = model.get_output_embeddings().weight is model.get_input_embeddings().weight
    with torch.no_grad():
        for module in model.modules():  # re-draw: a seed per family, not per construction order
            if isinstance(module, (torch.nn.Linear, torch.nn.Embedding)):
                is_embedding = isinstance(module, torch.nn.Embedding)
                std = (0.02 if tied else 0.5) if is_embedding else 0.08
                torch.nn.init.normal_(module.weight, std=std)
                if getattr(module, "bias", None) is not None:
                    torch.nn.init.zeros_(module.bias)
        model.get_output_embeddings().weight[banned] = 0.0  # the tied input rows too, where tied
    return model


def to_published_layout(out: Path) -> None:
    """Rename transformers 5.x's CLIP/SigLIP tower keys (`vision_tower.embeddings...`) to the
    `vision_tower.vision_model.embeddings...` of published checkpoints (vLLM loads only those)."""
    from safetensors.torch import load_file, save_file

    path = out / "model.safetensors"
    tensors = load_file(path)
    renamed = {}
    for key, value in tensors.items():
        if "vision_tower." in key and "vision_tower.vision_model." not in key:
            key = key.replace("vision_tower.", "vision_tower.vision_model.", 1)
        renamed[key] = value
    save_file(renamed, path, metadata={"format": "pt"})


def build_family(family: str, out_dir: str | Path, seed: int = 0) -> Path:
    out = Path(out_dir)
    if family in QWEN_FAMILIES:
        return _build_qwen(family, out, seed)
    if family not in FAMILIES:
        raise SystemExit(f"unknown family {family!r}; expected one of {', '.join(ALL_FAMILIES)}")
    tok, processor, model = FAMILIES[family]()
    model = randomize_and_ban(model, unemittable_ids(tok), seed)
    gen = model.generation_config
    gen.do_sample = False
    gen.pad_token_id = tok.pad_token_id
    gen.bos_token_id = tok.bos_token_id
    if gen.eos_token_id is None:
        gen.eos_token_id = tok.eos_token_id
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    if family != "llava-hf5-layout" and model.config.vision_config.model_type in (
            "clip_vision_model", "siglip_vision_model"):
        to_published_layout(out)
    return out


def _build_qwen(family: str, out: Path, seed: int) -> Path:
    if family == "qwen2.5-vl":
        return _build_qwen25(out, seed)
    make_tiny_vlm.build_tiny_vlm(out, seed=seed)
    if family == "qwen2-vl-eos-tokenizer-only":
        # The tokenizer's eos (<|im_end|>) is missing from generation_config.json.
        path = out / "generation_config.json"
        gen = json.loads(path.read_text())
        gen["eos_token_id"] = json.loads((out / "config.json").read_text())["text_config"]["pad_token_id"]
        path.write_text(json.dumps(gen, indent=2))
    return out


def _build_qwen25(out: Path, seed: int) -> Path:
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor
    from transformers import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    tok = make_tiny_vlm.build_tokenizer()
    base = make_tiny_vlm.build_processor(tok)
    processor = Qwen2_5_VLProcessor(image_processor=base.image_processor, tokenizer=tok,
                                    video_processor=base.video_processor, chat_template=make_tiny_vlm.CHAT_TEMPLATE)
    assert isinstance(processor.image_processor, Qwen2VLImageProcessor)
    assert isinstance(processor.video_processor, Qwen2VLVideoProcessor)
    q2 = make_tiny_vlm.build_config(tok)
    vision = dict(depth=2, hidden_size=64, intermediate_size=128, num_heads=2, out_hidden_size=128,
                  patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=56,
                  fullatt_block_indexes=[1], in_channels=3, hidden_act="silu")
    config = Qwen2_5_VLConfig(text_config=q2.text_config.to_dict(), vision_config=vision,
                              image_token_id=q2.image_token_id, video_token_id=q2.video_token_id,
                              vision_start_token_id=q2.vision_start_token_id,
                              vision_end_token_id=q2.vision_end_token_id, tie_word_embeddings=False)
    model = randomize_and_ban(Qwen2_5_VLForConditionalGeneration(config), unemittable_ids(tok), seed)
    text = config.text_config
    model.generation_config.update(do_sample=False, bos_token_id=text.bos_token_id,
                                   eos_token_id=[text.eos_token_id, text.pad_token_id],
                                   pad_token_id=text.pad_token_id)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("family", nargs="?", choices=ALL_FAMILIES, metavar="FAMILY")
    parser.add_argument("out_dir", nargs="?", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--list", action="store_true", help="list the families and exit")
    args = parser.parse_args(argv)
    if args.list or not args.family:
        print("\n".join(ALL_FAMILIES))
        return 0
    if args.out_dir is None:
        parser.error("OUT_DIR is required")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    start = time.perf_counter()
    out = build_family(args.family, args.out_dir, seed=args.seed)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"tiny {args.family} written to {out} ({size / 1e6:.1f} MB, {time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
