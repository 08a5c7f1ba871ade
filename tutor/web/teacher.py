"""A teacher's class: a file of answers uploaded, graded as a table (the answers that need review first, verdict
colours with their words), a class summary (verdict counts, the mean per question, the questions most missed),
and a CSV with the reference, the covered / missed / contradicted points, the verdict and the score (two
decimals), in the file's order."""

from __future__ import annotations

import csv
import io
import secrets
import tempfile
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tutor.errors import TutorError
from tutor.web.app import Web
from tutor.web.grades import verdict_label

CSV_FIELDS = ["id", "question", "answer", "reference", "score", "verdict", "covered", "missed", "contradicted",
              "feedback", "needs_review"]
VERDICT_ORDER = ("correct", "partially_correct", "incorrect", "needs_review", "error")
MAX_CLASSES = 50  # graded classes kept for their CSV; the oldest are forgotten first


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Verdict counts, and per question: answers, the mean score and how many were not correct (most missed first)."""
    counts = {v: 0 for v in VERDICT_ORDER}
    questions: dict[str, dict[str, Any]] = {}
    for r in rows:
        key = "needs_review" if r["needs_review"] else r["verdict"] if r["verdict"] in counts else "error"
        counts[key] += 1
        q = questions.setdefault(r["question"], {"question": r["question"], "answers": 0, "scores": [], "missed": 0})
        q["answers"] += 1
        if r["score"] is not None:
            q["scores"].append(r["score"])
        q["missed"] += r["verdict"] != "correct" and not r["needs_review"]
    per_question = [{**q, "mean": sum(q["scores"]) / len(q["scores"]) if q["scores"] else None}
                    for q in questions.values()]
    per_question.sort(key=lambda q: (-q["missed"], q["mean"] if q["mean"] is not None else 1.0))
    return {"counts": [{"verdict": v, "label": verdict_label(v) if v != "error" else "Could not grade", "n": counts[v]}
                       for v in VERDICT_ORDER if counts[v]],
            "questions": per_question, "mean": (sum(r["score"] for r in rows if r["score"] is not None)
                                                / max(1, sum(r["score"] is not None for r in rows)))}


def class_grade(web: Web) -> Any:
    def build(name: str, data: bytes) -> list[dict[str, Any]]:
        from tutor.learning import flows

        suffix = ".csv" if name.lower().endswith(".csv") else ".jsonl"
        with tempfile.TemporaryDirectory(prefix="tutor-upload-") as folder:
            path = Path(folder) / f"class{suffix}"
            path.write_bytes(data)
            try:
                rows = flows.read_batch(path)
            except TutorError as e:
                raise type(e)(str(e).replace(str(path), name)) from None
        with web.crew_lock:
            results = list(flows.grade_batch(rows, web.options))
        by_id = {r.id: r for r in rows}
        out = []
        for r in results:
            g = r.grade or {}
            verdict = g.get("verdict", "") or ("error" if r.error else "")
            out.append({"id": r.id, "question": by_id[r.id].question, "answer": by_id[r.id].answer,
                        "reference": by_id[r.id].reference, "score": g.get("score"), "verdict": verdict,
                        "label": verdict_label("needs_review" if r.needs_review else verdict),
                        "covered": g.get("covered") or [], "missed": g.get("missed") or [],
                        "contradicted": g.get("contradicted") or [],
                        "feedback": g.get("feedback", "") or (r.error or ""), "needs_review": bool(r.needs_review)})
        return out

    async def endpoint(request: Request) -> Any:
        if request.method == "GET":
            return web.page(request, "class.html", rows=None, sid=None, limit=web.max_upload)
        form = await request.form(max_part_size=web.max_upload + 1)
        upload = form.get("file")
        if upload is None or isinstance(upload, str) or not upload.filename:
            return web.problem(request, "Choose a .jsonl or .csv file with question and answer columns.",
                               back="/teacher/grade")
        data = await upload.read(web.max_upload + 1)
        if len(data) > web.max_upload:
            return web.problem(request, f"{upload.filename} is larger than the limit ({web.max_upload:,} bytes).",
                               status=413, back="/teacher/grade")
        try:
            rows = await run_in_threadpool(build, upload.filename, data)
        except TutorError as e:
            return web.problem(request, str(e), back="/teacher/grade")
        sid = secrets.token_urlsafe(12)
        web.keep("class:", sid, rows, MAX_CLASSES)
        shown = sorted(rows, key=lambda r: not r["needs_review"])  # the answers a teacher should read first
        return web.page(request, "class.html", rows=shown, sid=sid, limit=web.max_upload, name=upload.filename,
                        review=sum(r["needs_review"] for r in rows), summary=summary(rows))

    return endpoint


def class_csv(web: Web) -> Any:
    async def endpoint(request: Request) -> Response:
        with web.sessions_lock:
            rows = web.sessions.get(f"class:{request.path_params['sid']}")
        if rows is None:
            return web.problem(request, "Those grades are no longer here; upload the class file again.", status=404,
                               back="/teacher/grade")
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()  # rows in the file's order, as `tutor grade --batch` keeps them
        writer.writerows({**r, "score": "" if r["score"] is None else f"{r['score']:.2f}",
                          "covered": "; ".join(r["covered"]), "missed": "; ".join(r["missed"]),
                          "contradicted": "; ".join(r["contradicted"]),
                          "needs_review": "true" if r.get("needs_review") else "false"} for r in rows)
        return Response(out.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="grades.csv"'})

    return endpoint
