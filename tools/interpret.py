"""Describe a prediction in words: the visual reference, the evidence summary and, with a chat
endpoint, a multimodal language model's description (Omni-IML's interpretation module).

    python tools/interpret.py IMAGE CONFIG CHECKPOINT --out-dir DIR \
        [--endpoint URL --model NAME] [--task natural] [--threshold 0.5] [--timeout 60]

Writes ``DIR/<stem>_reference.png`` (the image blended 50/50 with the predicted mask, beside the
original), ``DIR/<stem>_evidence.txt`` (always: task, regions in words, image score, gate route)
and, when an endpoint is given (``--endpoint`` or ``$MMIML_LLM_ENDPOINT``, with ``--model`` or
``$MMIML_LLM_MODEL``; the key only from ``$MMIML_LLM_API_KEY``), ``DIR/<stem>_description.txt``.
Any OpenAI-compatible chat-completions server works (a local vLLM or llama.cpp server, or a
hosted API). A refusal, a timeout or a malformed reply is a one-line error (exit 2) after the
reference and the evidence are written.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

try:
    import mmiml  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from mmiml import TASKS
from mmiml.utils.cli import run_cli

PROMPT = ("You are a forensic image analyst. The first image is a picture with the regions a "
          "manipulation detector flagged highlighted in red; the second is the picture as it "
          "is. The detector's findings:\n{evidence}\n\nDescribe what the picture shows, "
          "whether and where it appears manipulated, and which visible artifacts (edges, "
          "lighting, texture, text rendering, compression) support or contradict the finding. "
          "Be concrete and brief.")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("image")
    p.add_argument("config")
    p.add_argument("checkpoint")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--endpoint", help="chat API base URL (default $MMIML_LLM_ENDPOINT)")
    p.add_argument("--model", help="model name at the endpoint (default $MMIML_LLM_MODEL)")
    p.add_argument("--task", choices=TASKS)
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per attempt")
    p.add_argument("--retries", type=int, default=2)
    p.add_argument("--device", default="cpu")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from mmiml.apis import inference_model, init_model
    from mmiml.datasets.io import load_image
    from mmiml.interpretation import ChatClient, evidence_summary, visual_reference
    from mmiml.interpretation.client import ENDPOINT_ENV

    model = init_model(args.config, args.checkpoint, args.device)
    (pred,) = inference_model(model, args.image, threshold=args.threshold, task=args.task)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(args.image).stem
    reference = visual_reference(load_image(args.image), pred.mask)
    cv2.imwrite(str(out / f"{stem}_reference.png"), np.ascontiguousarray(reference[..., ::-1]))
    evidence = evidence_summary(pred, args.task)
    (out / f"{stem}_evidence.txt").write_text(evidence + "\n", encoding="utf-8")
    print(evidence)
    print(f"wrote {out / f'{stem}_reference.png'} and {out / f'{stem}_evidence.txt'}")
    if not (args.endpoint or os.environ.get(ENDPOINT_ENV)):
        print("no endpoint given (--endpoint or $MMIML_LLM_ENDPOINT): no description")
        return 0
    client = ChatClient(args.endpoint, args.model, timeout=args.timeout, retries=args.retries)
    text = client.complete(PROMPT.format(evidence=evidence),
                           [reference, load_image(args.image)])
    (out / f"{stem}_description.txt").write_text(text + "\n", encoding="utf-8")
    print(f"\n{text}\n\nwrote {out / f'{stem}_description.txt'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
