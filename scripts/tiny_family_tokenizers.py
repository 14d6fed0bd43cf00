"""Tokenizers and chat templates of the tiny VLM families (see tiny_families.py).

Byte-level BPE tokenizers trained on `make_tiny_vlm.CORPUS` with each family's special tokens,
and chat templates in the shapes the published checkpoints ship.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_tiny_vlm  # noqa: E402  (the shared corpus)

NEWLINES = ["\n", "\n\n", "\n\n\n", "\n\n\n\n"]  # looked up literally by vLLM's gemma3_mm/paligemma


# ---------------------------------------------------------------------------------------------
# Tokenizers
# ---------------------------------------------------------------------------------------------

def make_tokenizer(specials: list[str], *, bos: str | None, eos: str, pad: str, add_bos: bool,
                   template: str | None, newline_tokens: bool = False, named: dict | None = None,
                   unk: str | None = None, vocab_size: int = 1024):
    """Byte-level BPE over the shared corpus; `specials` get the first ids. `add_bos`: the
    tokenizer prepends `bos` itself (Llama/Gemma style) when special tokens are added."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from tokenizers import processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=1, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(make_tiny_vlm.CORPUS, trainer=trainer)
    if newline_tokens:
        # Gemma's sentencepiece vocabulary has "\n" .. "\n\n\n\n" as whole tokens.
        tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in NEWLINES])
    if add_bos:
        bos_id = tok.token_to_id(bos)
        tok.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    named = dict(named or {})
    listed = {bos, eos, pad, unk, *named.values()}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, pad_token=pad, unk_token=unk,
        extra_special_tokens=named or [t for t in specials if t not in listed],
        padding_side="left", model_max_length=4096, clean_up_tokenization_spaces=False,
        chat_template=template)
    if named:  # the rest of the specials stay special (never split) without a name
        tokenizer.add_special_tokens({"additional_special_tokens": [t for t in specials if t not in listed]},
                                     replace_extra_special_tokens=False)
    tokenizer.add_bos_token = add_bos  # read by vLLM's PaliGemma processor
    tokenizer.add_eos_token = False
    return tokenizer


def unemittable_ids(tokenizer) -> list[int]:
    special = set(tokenizer.all_special_ids)
    special |= {i for i, t in tokenizer.added_tokens_decoder.items() if t.special}
    banned = []
    for token_id in range(len(tokenizer)):
        text = tokenizer.decode([token_id])
        # Whitespace-only tokens too: answers are stripped, and a run of them compares nothing.
        if token_id in special or "\ufffd" in text or not text.strip() or \
                not all(ch.isprintable() or ch == "\n" for ch in text):
            banned.append(token_id)
    return banned


# ---------------------------------------------------------------------------------------------
# Chat templates (the shapes the published checkpoints ship)
# ---------------------------------------------------------------------------------------------

CHATML_IMAGE_TAG = (  # Pangea / LLaVA-OneVision / InternVL: ChatML, an image tag per image part
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for c in message['content'] %}"
    "{% if c['type'] == 'image' %}{{ IMAGE }}{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")

LLAVA15_TEMPLATE = (  # llava-hf/llava-1.5-*: no BOS in the template (the tokenizer adds <s>)
    "{% for message in messages %}{% if message['role'] != 'system' %}"
    "{{ message['role'].upper() + ': ' }}{% endif %}"
    "{% for c in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{% for c in message['content'] | selectattr('type', 'equalto', 'text') %}{{ c['text'] + ' ' }}{% endfor %}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}")

VICUNA_STRING_TEMPLATE = (  # an LLM's template: content is a string
    "{% for message in messages %}{{ message['role'].upper() + ': ' + message['content'] + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}")

GEMMA3_TEMPLATE = (  # google/gemma-3-*-it: BOS in the template, system text folded into the user turn
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{% set first = messages[0]['content'][0]['text'] + '\n\n' %}{% set rest = messages[1:] %}"
    "{% else %}{% set first = '' %}{% set rest = messages %}{% endif %}"
    "{% for message in rest %}{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "<start_of_turn>{{ role }}\n{% if loop.first %}{{ first }}{% endif %}"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}<start_of_image>"
    "{% elif c['type'] == 'text' %}{{ c['text'] | trim }}{% endif %}{% endfor %}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")

SMOLVLM_TEMPLATE = (  # HuggingFaceTB/SmolVLM-*: starts with <|im_start|>, which is also the BOS
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for c in message['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}"
    "{% elif c['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")

MLLAMA_TEMPLATE = (  # meta-llama/Llama-3.2-*-Vision-Instruct (shortened): BOS in the template
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}{{ '<|image|>' }}"
    "{% elif c['type'] == 'text' %}{{ c['text'] | trim }}{% endif %}{% endfor %}{{ '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")

AYA_TEMPLATE = (  # CohereLabs/aya-vision-*: BOS in the template
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|START_OF_TURN_TOKEN|><|' + message['role'].upper() + '_TOKEN|>' }}"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}{{ '<image>' }}"
    "{% elif c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}{{ '<|END_OF_TURN_TOKEN|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>' }}{% endif %}")


def chatml_image(tag: str) -> str:
    return CHATML_IMAGE_TAG.replace("{{ IMAGE }}", "{{ '" + tag.replace("\n", "\\n") + "' }}")


QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
