"""Runs Apache Otava's change-point detection (its own source, its default parameters) on series
given as JSON on stdin: {"series": [[...], ...]}. Prints {"indexes": [[...], ...], "seconds": s,
"maxRssBytes": n}. Used by bench/analytics-detection.ts; Otava's source must be importable
(put it on PYTHONPATH, or set OTAVA_PATH)."""
import json
import os
import resource
import sys
import time

if os.environ.get("OTAVA_PATH"):
    sys.path.insert(0, os.environ["OTAVA_PATH"])

from otava.analysis import compute_change_points  # noqa: E402
from otava.series import AnalysisOptions  # noqa: E402

if len(sys.argv) > 1 and sys.argv[1] == "--probe":
    print("ok")
    sys.exit(0)

request = json.load(sys.stdin)
options = AnalysisOptions()
indexes = []
started = time.perf_counter()
for z in request["series"]:
    cps, _ = compute_change_points(
        [float(x) for x in z],
        window_len=options.window_len,
        max_pvalue=options.max_pvalue,
        min_magnitude=options.min_magnitude,
    )
    indexes.append([int(c.index) for c in cps])
seconds = time.perf_counter() - started
print(json.dumps({
    "indexes": indexes,
    "seconds": seconds,
    "maxRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
}))
