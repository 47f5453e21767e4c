"""saddle.distributed: two JAX processes on this machine (gloo CPU collectives) split the
starts and gather, and must reproduce a one-process saddle.descend bit for bit."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import multihost_worker  # tests/ is on sys.path under pytest (no __init__.py)
import numpy as np
import optax
import pytest

import saddle
import saddle.distributed as dist

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "multihost_worker.py"

FIELDS = ("x", "loss", "grad_norm", "converged", "converged_step")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_two_processes(tmp_path: Path, devices: int, reference: callable) -> tuple:
    """Start both workers, compute ``reference()`` while they run, return (ref, outputs)."""
    port = _free_port()
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu",
           # the parent's flags too (conftest's): bitwise equality needs the same code generation
           "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} "
                        f"--xla_force_host_platform_device_count={devices}".strip()}
    outs = [tmp_path / f"out{pid}.npz" for pid in (0, 1)]
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(pid), str(port), str(out)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for pid, out in enumerate(outs)]
    try:
        ref = reference()
        logs = [p.communicate(timeout=300)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for pid, (p, log) in enumerate(zip(procs, logs, strict=True)):
        assert p.returncode == 0, f"process {pid} exited with {p.returncode}:\n{log[-3000:]}"
    return ref, [dict(np.load(out)) for out in outs]


@pytest.mark.parametrize("devices", [2, pytest.param(1, marks=pytest.mark.slow)])
def test_two_processes_reproduce_one(tmp_path, devices):
    obj, x0, opts, key = multihost_worker.problem()
    n, steps = multihost_worker.N_STARTS, multihost_worker.STEPS

    def reference() -> dict:
        with jax.default_device(jax.devices("cpu")[0]):
            return {name: saddle.descend(obj, x0, opt, steps, key=key)
                    for name, opt in opts.items()}

    ref, outs = _run_two_processes(tmp_path, devices, reference)
    # Not vacuous: two processes, each with its devices, each with its own half.
    assert [int(o["process_count"]) for o in outs] == [2, 2]
    assert sorted(int(o["process_index"]) for o in outs) == [0, 1]
    assert [int(o["local_devices"]) for o in outs] == [devices, devices]
    np.testing.assert_array_equal(np.concatenate([o["share"] for o in outs]), np.arange(n))
    assert [len(o["share"]) for o in outs] == [151, 150]
    # The random optimizer really is random here: PGD ends elsewhere than GD for most starts.
    assert np.mean(np.any(ref["pgd"].x != ref["gd"].x, axis=1)) > 0.3
    for o in outs:
        for name in opts:
            for field in FIELDS:
                np.testing.assert_array_equal(o[f"{name}_{field}"], getattr(ref[name], field),
                                              err_msg=f"{name} {field}")
        # The naive recipe (one key per process) gives other noise than one process does.
        assert np.mean(np.any(o["naive_pgd_x"] != ref["pgd"].x, axis=1)) > 0.3
        # gather: uneven shares, float64 kept exact without x64, bools.
        f64 = np.concatenate([np.arange(3.0) + 1e-12, np.arange(4.0) + 1e-12 + 10])
        assert o["gathered_f64"].dtype == np.float64
        np.testing.assert_array_equal(o["gathered_f64"], f64)
        np.testing.assert_array_equal(o["gathered_flag"], [True, True, False, True])
        gather_err, x0_err = o["errors"].tolist()
        assert "leaf 0 has a different dtype or trailing shape" in gather_err
        assert "x0 differs between processes" in x0_err


def test_one_process_is_plain_descend():
    """Without jax.distributed: one share holding everything, gather is the identity."""
    assert jax.process_count() == 1
    np.testing.assert_array_equal(dist.my_share(5), np.arange(5))
    tree = {"a": np.arange(3.0), "b": np.ones((2, 3), bool)}
    got = dist.gather(tree)
    np.testing.assert_array_equal(got["a"], tree["a"])
    np.testing.assert_array_equal(got["b"], tree["b"])
    obj = saddle.objectives.get("himmelblau")
    x0 = saddle.starts.uniform(jax.random.PRNGKey(0), 6, obj.bounds)
    keys = jax.random.split(jax.random.PRNGKey(3), 6)
    a = dist.descend(obj, x0, optax.sgd(0.01), 20, key=keys, grad_noise=1.0)
    b = saddle.descend(obj, x0, optax.sgd(0.01), 20, key=keys, grad_noise=1.0)
    for field in FIELDS:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_bad_input():
    with pytest.raises(TypeError, match="n must be an int"):
        dist.my_share(2.5)
    with pytest.raises(ValueError, match="n must be >= 1"):
        dist.my_share(0)
    with pytest.raises(ValueError, match="tree leaf 1 must be an array with a leading axis"):
        dist.gather([np.zeros(2), np.float32(1.0)])
    with pytest.raises(ValueError, match="fixed-size dtype"):
        dist.gather(np.array([None, 1], dtype=object))
    with pytest.raises(ValueError, match=r"one per start \(3\)"):
        dist.descend(lambda x: (x**2).sum(), np.zeros((3, 2)), None, 5,
                     key=jax.random.split(jax.random.PRNGKey(0), 2))
