"""Images in tool results: which ones are kept, the lines that describe them, and the tool message that carries them.

A tool message keeps its text in `content` and its images beside it, `"images": [{"mime_type", "data"}]`,
so everything that reads a history as text (compaction, saved sessions, text-only backends) still works;
the backend turns them into the provider's own format (agent.backends.outgoing) or drops them.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from agent.prompts import render
from agent.protocols import Backend, Image, Message

ACCEPTED = ("image/png", "image/jpeg", "image/gif", "image/webp")  # what Anthropic and OpenAI both take


def admit(images: list[Image], count: int, size: int) -> tuple[list[Image], str]:
    """The images within the caps, and the lines naming the ones dropped and why ("" when none)."""
    kept: list[Image] = []
    dropped: list[dict[str, Any]] = []
    for image in images:
        state, limit = _problem(image, size)
        if state is None and len(kept) >= count:
            state, limit = "too_many", count
        if state is None:
            kept.append(image)
        else:
            dropped.append({"mime_type": image.mime_type, "bytes": image.size, "state": state, "limit": limit})
    return kept, render("tool_images", images=dropped) if dropped else ""


def _problem(image: Image, size: int) -> tuple[str | None, int]:
    if image.mime_type not in ACCEPTED:
        return "bad_type", 0
    if image.size > size:
        return "too_big", size
    try:
        base64.b64decode(image.data, validate=True)
    except (binascii.Error, ValueError):
        return "bad_data", 0
    return None, 0


def tool_message(call_id: str, output: str, images: list[Image],
                 backend: Backend) -> tuple[Message, list[dict[str, Any]]]:
    """The tool message of one observation, and the images' metadata for the tool_result event.

    When the backend accepts images (Capabilities.vision) they travel with the message; otherwise a line
    per image says it was not shown.
    """
    message: Message = {"role": "tool", "tool_call_id": call_id, "content": output}
    if not images:
        return message, []
    vision = backend.capabilities().vision
    state = "shown" if vision else "hidden"
    lines = render("tool_images", images=[{"mime_type": i.mime_type, "bytes": i.size, "state": state, "limit": 0}
                                          for i in images])
    message["content"] = "\n".join(filter(None, [output, lines]))
    if vision:
        message["images"] = [{"mime_type": i.mime_type, "data": i.data} for i in images]
    return message, [i.meta(vision) for i in images]


def data_url(image: dict[str, Any]) -> str:
    """A history image as a data: URL (litellm's image_url part)."""
    return f"data:{image['mime_type']};base64,{image['data']}"

