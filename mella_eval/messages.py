"""The message model between tasks and backends: chat turns made of text and image parts.

Tasks build `Message`s; each backend converts them with one of the `to_*` functions. Images
travel as their encoded bytes, so the same request can be hashed (response store), sent as a
data URL (OpenAI-compatible servers) or decoded to PIL (transformers, vLLM).
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from functools import cached_property
from typing import Union


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True, eq=False)
class ImagePart:
    data: bytes  # the encoded file (JPEG, PNG, ...)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @cached_property
    def mime_type(self) -> str:
        return _sniff_mime(self.data)

    def to_pil(self):
        from PIL import Image

        image = Image.open(io.BytesIO(self.data))
        return image.convert("RGB")

    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"

    def __eq__(self, other):
        return isinstance(other, ImagePart) and self.sha256 == other.sha256

    def __hash__(self):
        return hash(self.sha256)


Part = Union[TextPart, ImagePart]


@dataclass(frozen=True)
class Message:
    role: str  # "system" | "user" | "assistant"
    parts: tuple[Part, ...]

    @property
    def text(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    @property
    def images(self) -> list[ImagePart]:
        return [p for p in self.parts if isinstance(p, ImagePart)]


def user_message(text: str, images: list[ImagePart] | tuple[ImagePart, ...] = ()) -> Message:
    """A user turn with the images first, then the text (the layout VLM chat templates expect)."""
    return Message("user", tuple(images) + (TextPart(text),))


def all_images(messages: list[Message] | tuple[Message, ...]) -> list[ImagePart]:
    return [img for m in messages for img in m.images]


def to_openai_messages(messages) -> list[dict]:
    """OpenAI chat-completions format; images as base64 data URLs."""
    out = []
    for m in messages:
        content = []
        for p in m.parts:
            if isinstance(p, TextPart):
                content.append({"type": "text", "text": p.text})
            else:
                content.append({"type": "image_url", "image_url": {"url": p.data_url()}})
        out.append({"role": m.role, "content": content})
    return out


def to_hf_messages(messages) -> list[dict]:
    """transformers chat-template format: `{"type": "image"}` placeholders, images passed apart."""
    return [
        {
            "role": m.role,
            "content": [
                {"type": "text", "text": p.text} if isinstance(p, TextPart) else {"type": "image"}
                for p in m.parts
            ],
        }
        for m in messages
    ]


def to_vllm_messages(messages, decoded: dict | None = None) -> list[dict]:
    """vLLM `LLM.chat` format: PIL images inline as `image_pil` parts.

    `decoded` (sha256 -> PIL image), shared across the requests of one call, decodes each
    distinct image once: datasets like MELLA show the same image in every language."""
    decoded = {} if decoded is None else decoded
    out = []
    for m in messages:
        content = []
        for p in m.parts:
            if isinstance(p, TextPart):
                content.append({"type": "text", "text": p.text})
            else:
                if p.sha256 not in decoded:
                    decoded[p.sha256] = p.to_pil()
                content.append({"type": "image_pil", "image_pil": decoded[p.sha256]})
        out.append({"role": m.role, "content": content})
    return out


def messages_fingerprint(messages) -> list[dict]:
    """A JSON-able, image-free view of the messages (images replaced by their sha256), for hashing."""
    return [
        {
            "role": m.role,
            "content": [
                {"text": p.text} if isinstance(p, TextPart) else {"image_sha256": p.sha256}
                for p in m.parts
            ],
        }
        for m in messages
    ]


def _sniff_mime(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "application/octet-stream"
