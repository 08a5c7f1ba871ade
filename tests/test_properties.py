"""Property-based: no input makes `tutor search` or `tutor grade` crash (exit 0 or 2, never a traceback)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=300)


@FUZZ
@given(query=texts, k=st.integers(min_value=-5, max_value=60))
def test_search_never_crashes(tutor, query, k):
    ran = tutor("search", "--k", str(k), "--json", "--", query)  # "--": a query may start with "-"
    assert ran.exit_code in (0, 2), ran.output
    assert "Traceback" not in ran.output
    if ran.exit_code == 0:
        hits = json.loads(ran.stdout)
        assert len(hits) <= k
        assert all({"text", "source", "section", "score"} <= set(h) for h in hits)
        assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    else:
        assert query.strip() == "" or k < 1


@FUZZ
@given(answer=texts, question=texts, reference=texts)
def test_grade_never_crashes(tutor, answer, question, reference):
    ran = tutor("grade", "--question", question, "--reference", reference, "--json", "--", answer)
    assert ran.exit_code in (0, 2), ran.output
    assert "Traceback" not in ran.output
    if ran.exit_code == 0:
        grade = json.loads(ran.stdout)
        assert 0.0 <= grade["score"] <= 1.0
        assert grade["verdict"] in ("correct", "partially_correct", "incorrect", "unsure")
