"""benchmarks.dedup at a tiny size: the new merge and the frozen legacy one agree where the
legacy one is right (isolated points far apart), and the plateau is one group."""

import json

import numpy as np

from benchmarks import dedup


def test_tiny_dedup_benchmark(tmp_path):
    out = tmp_path / "dedup.json"
    rows = dedup.main(["--sizes", "3000", "--plateau", "500", "--out", str(out)])
    assert json.loads(out.read_text()) == rows
    rast, plateau = rows
    # 3000 draws from 9261 points: the distinct ones, counted independently by numpy.
    _, z, *_ = dedup.workload("rastrigin3", 3000)
    distinct = len(np.unique(np.round(z, 6), axis=0))
    assert rast["groups"] == rast["legacy_groups"] == distinct
    assert plateau["groups"] == 1 and plateau["legacy_groups"] > 400
