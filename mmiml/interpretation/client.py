"""A client for any OpenAI-compatible chat-completions endpoint, for the interpretation module.

The endpoint, the model and the key come from the caller (a config) or from the environment
(:data:`ENDPOINT_ENV`, :data:`MODEL_ENV`, :data:`KEY_ENV`), never from code. Images go as PNG
data URLs. Failures are :class:`InterpretationError` with what happened: the endpoint refused
(an HTTP 4xx, or a reply stopped by a content filter), it timed out, or its reply is not a
chat completion. Server errors (5xx) and timeouts are retried with a back-off.
"""
from __future__ import annotations

import base64
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from mmiml.utils.errors import MMIMLError

__all__ = ["ENDPOINT_ENV", "KEY_ENV", "MODEL_ENV", "ChatClient", "InterpretationError",
           "image_data_url"]

ENDPOINT_ENV = "MMIML_LLM_ENDPOINT"
MODEL_ENV = "MMIML_LLM_MODEL"
KEY_ENV = "MMIML_LLM_API_KEY"


class InterpretationError(MMIMLError, RuntimeError):
    """The language model could not describe the image; the message says why."""


def image_data_url(rgb: np.ndarray) -> str:
    """An HxWx3 uint8 RGB image as a ``data:image/png;base64,...`` URL."""
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(np.asarray(rgb)[..., ::-1]))
    if not ok:
        raise InterpretationError("<image>", "could not encode the image as PNG")
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


@dataclass
class ChatClient:
    """POSTs to ``<endpoint>/chat/completions``.

    Args:
        endpoint: the API's base URL (``http://127.0.0.1:8000/v1``); default
            ``$MMIML_LLM_ENDPOINT``.
        model: the model name the endpoint serves; default ``$MMIML_LLM_MODEL``.
        api_key: sent as a bearer token when given; default ``$MMIML_LLM_API_KEY``.
        timeout: seconds per attempt.
        retries: further attempts after a timeout or a 5xx reply.
        backoff: seconds before the first retry, doubled each time.
    """

    endpoint: str | None = None
    model: str | None = None
    api_key: str | None = None
    timeout: float = 60.0
    retries: int = 2
    backoff: float = 1.0
    max_tokens: int = 512

    def __post_init__(self) -> None:
        self.endpoint = self.endpoint or os.environ.get(ENDPOINT_ENV)
        self.model = self.model or os.environ.get(MODEL_ENV)
        self.api_key = self.api_key or os.environ.get(KEY_ENV)
        if not self.endpoint:
            raise InterpretationError("--endpoint",
                                      f"no endpoint: give --endpoint or set {ENDPOINT_ENV}")
        if not self.model:
            raise InterpretationError("--model", f"no model name: give --model or set {MODEL_ENV}")
        if not self.endpoint.startswith(("http://", "https://")):
            raise InterpretationError("--endpoint",
                                      f"must be an http(s) URL, got {self.endpoint!r}")

    @property
    def url(self) -> str:
        base = str(self.endpoint).rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"

    def payload(self, prompt: str, images: Sequence[np.ndarray], system: str | None
                ) -> dict[str, Any]:
        content: list[dict[str, Any]] = [{"type": "text", "text": prompt}]
        content += [{"type": "image_url", "image_url": {"url": image_data_url(img)}}
                    for img in images]
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": content}]
        return {"model": self.model, "messages": messages, "max_tokens": self.max_tokens,
                "temperature": 0}

    def complete(self, prompt: str, images: Sequence[np.ndarray] = (),
                 system: str | None = None) -> str:
        """The model's reply text to ``prompt`` with ``images``."""
        body = json.dumps(self.payload(prompt, images, system)).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        delay = self.backoff
        last = ""
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(self.url, data=body, headers=headers,
                                             method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                    return self._text(reply.read())
            except urllib.error.HTTPError as e:
                detail = e.read()[:500].decode("utf-8", "replace")
                if e.code < 500:
                    raise InterpretationError(self.url, f"refused the request (HTTP {e.code}): "
                                                        f"{detail}") from None
                last = f"HTTP {e.code}: {detail}"
            except TimeoutError:
                last = f"no reply within {self.timeout:g} s"
            except urllib.error.URLError as e:
                if isinstance(e.reason, TimeoutError):
                    last = f"no reply within {self.timeout:g} s"
                else:
                    raise InterpretationError(self.url, f"cannot reach it: {e.reason}") from None
            if attempt < self.retries:
                time.sleep(delay)
                delay *= 2
        raise InterpretationError(self.url, f"failed after {self.retries + 1} attempt(s): "
                                            f"{last}")

    def _text(self, raw: bytes) -> str:
        try:
            doc = json.loads(raw)
            choice = doc["choices"][0]
            text = choice["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise InterpretationError(self.url, f"replied with something that is not a chat "
                                                f"completion: {raw[:300]!r}") from None
        if choice.get("finish_reason") == "content_filter" or (
                not text and choice["message"].get("refusal")):
            reason = choice["message"].get("refusal") or "content filter"
            raise InterpretationError(self.url, f"the model refused to answer ({reason})")
        if not isinstance(text, str) or not text.strip():
            raise InterpretationError(self.url, "replied with an empty message")
        return text.strip()
