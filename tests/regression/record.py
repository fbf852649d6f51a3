"""Record the behaviour regression set: ``python -m tests.regression.record`` (repository root).

Computes every answer with the code as it is now and writes
``tests/fixtures/regression/answers.jsonl.gz`` (gzip with mtime 0, fixed seeds, stable order:
recording the same behaviour twice gives the same bytes). Re-record only for an intended
change of behaviour, and say so in the commit message. Without the shared real data
(LOCATOR_TEST_DATA) the Paris cases cannot be recorded and the script refuses to run.
"""

from __future__ import annotations

import gzip
import io
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: python tests/regression/record.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.regression import cases
else:
    from . import cases


def record(path: Path = cases.FIXTURE) -> dict[str, int]:
    if cases.shared_dir() is None:
        raise SystemExit("the shared real data is needed to record the Paris cases: set LOCATOR_TEST_DATA")
    groups = cases.generate_inputs(include_shared=True)
    counts = {}
    buf = io.BytesIO()
    with cases.Runner() as runner, gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
        for group in cases.GROUPS:
            started = time.perf_counter()
            for n, inp in enumerate(groups[group]):
                rec = {"case": f"{group}/{n}", "input": inp, "output": runner.answer(group, inp)}
                if group in cases.SHARED_GROUPS:
                    rec["needs"] = "shared"
                gz.write((json.dumps(rec, ensure_ascii=False) + "\n").encode("utf-8"))
            counts[group] = len(groups[group])
            print(f"{group}: {counts[group]} cases, {time.perf_counter() - started:.1f} s", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    print(f"{sum(counts.values())} cases → {path} ({path.stat().st_size} bytes)", file=sys.stderr)
    return counts


if __name__ == "__main__":
    record()
