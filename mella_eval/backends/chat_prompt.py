"""One prompt per request, rendered and tokenized the way transformers and vLLM both do.

Rules (each matches `processor.apply_chat_template(..., tokenize=True)` in transformers, which is
also what vLLM's `LLM.chat` gives once it is told whether to add special tokens):

* BOS: the rendered prompt is tokenized *with* the tokenizer's special tokens unless it already
  starts with the BOS token (Gemma 3, Mllama, Aya Vision templates emit `{{ bos_token }}`;
  LLaVA-1.5's does not and relies on the tokenizer's `<s>`). Never two, never none.
* Content format: a template that iterates over a message's parts gets them as a list; a
  text-only template (content as a string, as an LLM's template) gets each message's text parts
  joined by "\\n", with one image placeholder per image in front (vLLM's rule).
* No chat template: PaliGemma-style checkpoints, whose processor writes the prompt layout itself,
  get the messages' text concatenated (vLLM's built-in fallback `template_basic.jinja`); any
  other architecture without a template is refused in one line.
"""

from __future__ import annotations

from mella_eval.errors import MellaError
from mella_eval.messages import ImagePart, TextPart

# Architectures whose processor inserts the image tokens itself and which vLLM runs without a
# chat template (vLLM: transformers_utils/chat_templates/registry.py).
NO_TEMPLATE_MODEL_TYPES = ("paligemma",)

# Image placeholders vLLM inserts into string-content templates (`get_placeholder_str`), where
# they differ from the processor's own image token.
STRING_TEMPLATE_PLACEHOLDERS = {
    "qwen2_vl": "<|vision_start|><|image_pad|><|vision_end|>",
    "qwen2_5_vl": "<|vision_start|><|image_pad|><|vision_end|>",
    "gemma3": "<start_of_image>",
    "internvl": "<image>",
}

_PROBE_TEXT = "mella-probe-text"


class ChatFormat:
    """How one checkpoint's messages become a prompt string, and whether to add special tokens."""

    def __init__(self, template: str | None, tokenizer, model_type: str, image_token: str | None):
        self.template = template
        self.tokenizer = tokenizer
        self.model_type = model_type
        self.bos_token = getattr(tokenizer, "bos_token", None)
        if template is None:
            if model_type not in NO_TEMPLATE_MODEL_TYPES:
                raise MellaError(f"{model_type}: the checkpoint has no chat template (tokenizer_config.json / "
                                 "chat_template.jinja); add one, or use a chat-tuned checkpoint")
            self.content_format = "none"
        else:
            self.content_format = detect_content_format(template, tokenizer)
        self.image_placeholder = STRING_TEMPLATE_PLACEHOLDERS.get(model_type, image_token or "<image>")

    @classmethod
    def from_processor(cls, processor, model_type: str) -> "ChatFormat":
        tokenizer = getattr(processor, "tokenizer", processor)
        template = getattr(processor, "chat_template", None) or getattr(tokenizer, "chat_template", None)
        if isinstance(template, dict):  # several named templates: the default one
            template = template.get("default")
        return cls(template, tokenizer, model_type, getattr(processor, "image_token", None))

    def render(self, messages) -> str:
        if self.content_format == "none":
            return "".join("\n".join(p.text for p in m.parts if isinstance(p, TextPart)) for m in messages)
        if self.content_format == "string":
            conversation = [{"role": m.role, "content": self._string_content(m)} for m in messages]
        else:
            conversation = [{"role": m.role, "content": [
                {"type": "text", "text": p.text} if isinstance(p, TextPart) else {"type": "image"}
                for p in m.parts]} for m in messages]
        try:
            return self.tokenizer.apply_chat_template(conversation, chat_template=self.template,
                                                      tokenize=False, add_generation_prompt=True)
        except Exception as e:  # jinja raise_exception(...) or a template bug: that request fails
            raise MellaError(f"the {self.model_type} chat template refused the request: "
                             f"{type(e).__name__}: {e}") from None

    def _string_content(self, message) -> str:
        placeholders = [self.image_placeholder for p in message.parts if isinstance(p, ImagePart)]
        texts = [p.text for p in message.parts if isinstance(p, TextPart)]
        text = "\n".join(texts)
        return "\n".join(placeholders + [text]) if text else "\n".join(placeholders)

    def add_special_tokens(self, prompt: str) -> bool:
        """transformers' rule: add the tokenizer's special tokens unless the prompt starts with BOS.
        The processor of a template-less checkpoint (PaliGemma) places BOS itself."""
        if self.content_format == "none":
            return True
        return not (self.bos_token and prompt.startswith(self.bos_token))

    def probe_add_special_tokens(self) -> bool:
        """The BOS decision for this template, from a one-turn conversation (for vLLM, which
        takes one decision per `LLM.chat` call)."""
        from mella_eval.messages import user_message

        return self.add_special_tokens(self.render([user_message(_PROBE_TEXT)]))


def detect_content_format(template: str, tokenizer) -> str:
    """"openai" when the template iterates over content parts, "string" when it prints the
    content as a whole (it would show the list's repr, or fail on string operations)."""
    parts = [{"role": "user", "content": [{"type": "text", "text": _PROBE_TEXT}]}]
    try:
        rendered = tokenizer.apply_chat_template(parts, chat_template=template, tokenize=False,
                                                 add_generation_prompt=True)
    except TypeError:
        return "string"  # e.g. `message['content'] + ...` on a list
    except Exception:  # noqa: BLE001 -- raise_exception() on the probe: assume parts
        return "openai"
    if _PROBE_TEXT not in rendered or "'type': 'text'" in rendered or '"type": "text"' in rendered:
        return "string"
    return "openai"
