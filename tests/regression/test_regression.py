"""The recorded answers (tests/fixtures/regression/answers.jsonl.gz) are given, byte for byte,
by the code under test. See tests/regression/README.md."""

from __future__ import annotations

import pytest

from . import cases

MAX_REPORTED = 20


@pytest.fixture(scope="module")
def recorded() -> dict[str, list[dict]]:
    by_group: dict[str, list[dict]] = {g: [] for g in cases.GROUPS}
    for rec in cases.read_fixture():
        by_group[cases.group_of(rec)].append(rec)
    return by_group


@pytest.fixture(scope="module")
def runner():
    with cases.Runner() as r:
        yield r


def test_every_group_is_recorded(recorded):
    assert all(recorded[g] for g in cases.GROUPS), [g for g in cases.GROUPS if not recorded[g]]
    assert sum(len(v) for v in recorded.values()) >= 2000


# The groups run in the order they were recorded (pytest keeps parametrize order).
@pytest.mark.parametrize("group", cases.GROUPS)
def test_answers_unchanged(group, recorded, runner):
    records = recorded[group]
    if any(rec.get("needs") == "shared" for rec in records) and cases.shared_dir() is None:
        pytest.skip("the Paris cases need the shared real data: set LOCATOR_TEST_DATA to the shared/data folder")
    diffs = []
    for rec in records:
        got = runner.answer(group, rec["input"])
        if got != rec["output"]:
            diffs.append(rec["case"])
            if len(diffs) <= MAX_REPORTED:
                diffs[-1] = f"{rec['case']} input={rec['input']!r}\n{_where_they_differ(rec['output'], got)}"
    if diffs:
        shown = "\n".join(d for d in diffs[:MAX_REPORTED])
        pytest.fail(f"{len(diffs)} of {len(records)} answers of {group} changed; first {min(len(diffs), MAX_REPORTED)}:\n"
                    f"{shown}", pytrace=False)


def _where_they_differ(recorded: str, now: str, context: int = 120) -> str:
    """Both strings around their first difference (and their lengths)."""
    i = next((k for k, (a, b) in enumerate(zip(recorded, now, strict=False)) if a != b), min(len(recorded), len(now)))
    start = max(i - context, 0)
    return (f"    first difference at character {i} (lengths {len(recorded)} → {len(now)})\n"
            f"    recorded: …{recorded[start:i + context]!r}\n    now:      …{now[start:i + context]!r}")
