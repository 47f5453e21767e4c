import jax
import numpy as np
import pytest

import saddle
from saddle.objectives import get, names

COMPLETE_2D = [n for n in names() if n not in ("goe_quadratic",) and get(n).complete]


@pytest.mark.parametrize("name", COMPLETE_2D)
def test_finds_every_catalogued_point_with_its_kind(name):
    obj = get(name)
    n_starts = max(1024, 20 * len(obj.known))
    cps = saddle.find_critical_points(obj, key=jax.random.PRNGKey(0), n_starts=n_starts)
    span = np.linalg.norm(obj.upper - obj.lower)
    for p in obj.known:
        dist = np.linalg.norm(cps.x - np.array(p.x), axis=1)
        i = int(np.argmin(dist))
        assert dist[i] < 1e-3 * span, (name, p)
        assert cps.kind[i] == p.kind, (name, p, cps.kind[i])
    assert len(cps) == len(obj.known), f"{name}: extra points {len(cps)} vs {len(obj.known)}"
    assert cps.hits.sum() + len(cps.unconverged) + cps.outside <= n_starts


def test_bad_inputs():
    obj = get("himmelblau")
    with pytest.raises(ValueError, match="n_starts must be >= 1"):
        saddle.find_critical_points(obj, key=jax.random.PRNGKey(0), n_starts=0)
    with pytest.raises(ValueError, match="merge_tol must be a finite number > 0"):
        saddle.find_critical_points(obj, key=jax.random.PRNGKey(0), merge_tol=-1.0)
    with pytest.raises(TypeError, match=r"objective must be a saddle\.Objective"):
        saddle.find_critical_points(obj.fn, key=jax.random.PRNGKey(0))
