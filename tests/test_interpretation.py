"""The interpretation module: the visual reference's pixel arithmetic and layout, a
deterministic evidence summary, the chat client against a local server (answers, refusals,
timeouts, malformed replies, retries), tools/interpret.py end to end, and the Omni-273k reader
(plain types only)."""
from __future__ import annotations

import base64
import json
import pickle
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from helpers import ROOT, load_tool

from mmiml.apis.inference import IMLPrediction
from mmiml.interpretation import (
    ChatClient,
    InterpretationError,
    blend_highlight,
    evidence_summary,
    visual_reference,
    write_llava,
)
from mmiml.utils.errors import IMLDataError

PLAIN = (ROOT / "configs/plain_convnext_uper/"
         "upernet_convnext-atto_1xb8-1k_synthiml-cpu-joint-128x128.py")


# ------------------------------------------------------------------ visual reference
def test_highlight_is_the_rounded_half_sum_of_image_and_mask_drawing():
    img = np.array([[[10, 20, 31], [200, 100, 0]]], np.uint8)
    mask = np.array([[1, 0]], np.uint8)
    out = blend_highlight(img, mask, (255, 0, 0))
    assert out.tolist() == [[[133, 10, 16], [100, 50, 0]]]  # (10+255+1)//2, (20+0+1)//2 ...


def test_reference_joins_along_the_longer_side():
    land = np.full((4, 6, 3), 7, np.uint8)
    port = np.full((6, 4, 3), 7, np.uint8)
    assert visual_reference(land, np.zeros((4, 6))).shape == (4, 12, 3)
    assert visual_reference(port, np.zeros((6, 4))).shape == (12, 4, 3)
    assert visual_reference(land, np.zeros((4, 6)), along="shorter").shape == (8, 6, 3)
    ref = visual_reference(land, np.ones((4, 6)))
    assert (ref[:, 6:] == 7).all() and (ref[:, :6, 0] == 131).all()  # highlighted copy first


# ------------------------------------------------------------------ evidence summary
def _prediction(gate=None) -> IMLPrediction:
    prob = np.zeros((30, 60), np.float32)
    prob[2:8, 2:10] = 0.9
    prob[20:28, 50:58] = 0.7
    mask = (prob > 0.5).astype(np.uint8)
    from mmiml.apis.inference import _regions

    return IMLPrediction("x.png", prob, mask, 0.81, "topk_mean", 0.5, _regions(prob, mask),
                         gate, "document")


def test_evidence_summary_names_task_regions_score_and_gate():
    text = evidence_summary(_prediction({"route": "rgb+dct", "prob": 0.93}))
    assert text == evidence_summary(_prediction({"route": "rgb+dct", "prob": 0.93}))
    assert "Task: document" in text and "0.810" in text
    assert "2 manipulated regions" in text
    assert "1. lower right" in text or "1. upper left" in text
    assert "upper left" in text and "lower right" in text and "mean score 0.900" in text
    assert "RGB and JPEG frequency" in text
    assert "Modal Gate" not in evidence_summary(_prediction())


# ------------------------------------------------------------------ the chat client
class _Server:
    """A chat-completions endpoint on 127.0.0.1 whose replies the test scripts."""

    def __init__(self, replies: list[tuple[int, object, float]]):
        self.replies = list(replies)
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body,
                                       "auth": self.headers.get("Authorization")})
                code, reply, delay = outer.replies.pop(0) if outer.replies else (
                    200, _answer("ok"), 0.0)
                time.sleep(delay)
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _answer(text: str, finish: str = "stop") -> dict:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": finish}]}


@pytest.fixture
def server():
    servers = []

    def make(*replies):
        s = _Server(list(replies))
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def test_client_sends_images_as_data_urls_and_reads_the_answer(server, monkeypatch):
    s = server((200, _answer(" The edit is top left. "), 0.0))
    monkeypatch.setenv("MMIML_LLM_API_KEY", "secret-from-env")
    client = ChatClient(s.url, "vlm-1", timeout=5)
    img = np.zeros((4, 6, 3), np.uint8)
    img[0, 0] = (255, 0, 0)
    assert client.complete("describe", [img]) == "The edit is top left."
    (req,) = s.requests
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer secret-from-env"
    content = req["body"]["messages"][0]["content"]
    assert content[0] == {"type": "text", "text": "describe"}
    url = content[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    png = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), 1)
    assert png[0, 0].tolist() == [0, 0, 255]  # BGR of the red pixel: the image, unchanged
    assert req["body"]["model"] == "vlm-1"


def test_client_errors_are_named(server):
    refuse = server((400, {"error": {"message": "images not supported"}}, 0.0))
    with pytest.raises(InterpretationError, match="refused the request .HTTP 400.*images not"):
        ChatClient(refuse.url, "m", timeout=5, retries=0).complete("x")
    filtered = server((200, _answer("", "content_filter"), 0.0))
    with pytest.raises(InterpretationError, match="refused to answer"):
        ChatClient(filtered.url, "m", timeout=5, retries=0).complete("x")
    garbage = server((200, b"<html>proxy error</html>", 0.0))
    with pytest.raises(InterpretationError, match="not a chat completion"):
        ChatClient(garbage.url, "m", timeout=5, retries=0).complete("x")
    slow = server((200, _answer("late"), 1.5))
    with pytest.raises(InterpretationError, match="no reply within 0.3 s"):
        ChatClient(slow.url, "m", timeout=0.3, retries=0).complete("x")
    with pytest.raises(InterpretationError, match="no endpoint"):
        ChatClient(None, "m")


def test_client_retries_server_errors_then_succeeds(server):
    s = server((503, {"error": "busy"}, 0.0), (502, {"error": "busy"}, 0.0),
               (200, _answer("fine"), 0.0))
    assert ChatClient(s.url, "m", timeout=5, retries=2, backoff=0.01).complete("x") == "fine"
    assert len(s.requests) == 3
    s2 = server((503, {}, 0.0), (503, {}, 0.0))
    with pytest.raises(InterpretationError, match="after 2 attempt"):
        ChatClient(s2.url, "m", timeout=5, retries=1, backoff=0.01).complete("x")


def test_interpret_tool_end_to_end_against_the_local_server(server, tmp_path: Path):
    from mmiml.apis import init_model

    ckpt = tmp_path / "m.pth"
    torch.save({"state_dict": init_model(PLAIN).state_dict()}, ckpt)
    image = tmp_path / "doc.png"
    cv2.imwrite(str(image), np.random.default_rng(0).integers(0, 256, (40, 64, 3), np.uint8))
    s = server((200, _answer("A receipt; the total looks re-typed."), 0.0))
    tool = load_tool("interpret")
    assert tool.main([str(image), str(PLAIN), str(ckpt), "--out-dir", str(tmp_path / "out"),
                      "--endpoint", s.url, "--model", "vlm", "--task", "document"]) == 0
    out = tmp_path / "out"
    ref = cv2.imread(str(out / "doc_reference.png"))
    assert ref.shape == (40, 128, 3)
    evidence = (out / "doc_evidence.txt").read_text()
    assert evidence.startswith("Task: document.")
    assert (out / "doc_description.txt").read_text().strip() == \
        "A receipt; the total looks re-typed."
    prompt = s.requests[0]["body"]["messages"][0]["content"][0]["text"]
    assert evidence.strip() in prompt
    assert len(s.requests[0]["body"]["messages"][0]["content"]) == 3  # text + two images


# ------------------------------------------------------------------ Omni-273k
class _RunsCode:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_omni273k_records_with_visual_references_and_refused_pickles(tmp_path: Path):
    ann, imgs, masks = tmp_path / "ann", tmp_path / "img", tmp_path / "mask"
    for d in (ann, imgs, masks):
        d.mkdir()
    for stem in ("a", "b", "c", "d"):
        cv2.imwrite(str(imgs / f"{stem}.png"), np.full((20, 30, 3), 90, np.uint8))
        m = np.zeros((20, 30), np.uint8)
        m[5:10, 5:10] = 255
        cv2.imwrite(str(masks / f"{stem}.png"), m)
    doc = {"artifacts": ["blurred edge", "lighting mismatch"], "content": "a street",
           "position": {"region": "upper left"}}
    (ann / "a.pk").write_bytes(pickle.dumps(doc))
    (ann / "b.pk").write_bytes(pickle.dumps({"content": _RunsCode()}))
    (ann / "c.pk").write_bytes(pickle.dumps(np.zeros(3)))  # numpy is not plain data
    (ann / "e.pk").write_bytes(pickle.dumps({"content": "no image"}))
    records_path, skipped = write_llava(sorted(ann.glob("*.pk")), imgs, masks,
                                        tmp_path / "out")
    records = json.loads(records_path.read_text())
    assert [r["id"] for r in records] == ["a"]
    answer = records[0]["conversations"][1]["value"]
    assert answer.startswith("Content: a street\nPosition: region: upper left\nArtifacts:")
    assert "- blurred edge" in answer
    ref = cv2.imread(str(tmp_path / "out" / records[0]["image"]))
    assert ref.shape == (20, 60, 3)
    reasons = dict((Path(p).name, r) for p, r in skipped)
    assert set(reasons) == {"b.pk", "c.pk", "e.pk"}
    assert "refused" in reasons["b.pk"] and "builtins.print" in reasons["b.pk"]
    assert "refused" in reasons["c.pk"] and "no image" in reasons["e.pk"]
    with pytest.raises(IMLDataError):
        from mmiml.interpretation import read_annotation

        read_annotation(ann / "b.pk")
