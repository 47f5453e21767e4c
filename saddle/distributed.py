"""Several processes (hosts), one batch of starts: split it, run the shares, gather.

After ``jax.distributed.initialize()``, every process holds the same starts ``x0``
``[n, d]``; ``my_share(n)`` names the rows this process runs and ``gather`` puts the
processes' results back together in start order on every process. ``descend`` does
both around ``saddle.descend`` and gives every start the key it has in a one-process
run (``fold_in(key, i)`` for global start index ``i``), so the result is the one a single
process would compute on all starts, random optimizers included.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import optax
from jax.experimental import multihost_utils

from saddle._checks import as_batch, positive_int
from saddle.descent import Run, _start_keys
from saddle.descent import descend as _descend
from saddle.objectives.core import Objective


def my_share(n: int) -> np.ndarray:
    """Indices of the starts this process runs: block ``jax.process_index()`` of
    ``range(n)`` cut into ``jax.process_count()`` contiguous blocks whose sizes differ by
    at most one (``np.array_split``); a block is empty when ``n < process_count()``."""
    n = positive_int(n, "n")
    return np.array_split(np.arange(n), jax.process_count())[jax.process_index()]


def _crc(*parts: Any) -> int:
    """A 32-bit checksum of ``parts`` (their bytes or their repr), as an int32 value."""
    c = 0
    for p in parts:
        c = zlib.crc32(p if isinstance(p, bytes) else repr(p).encode(), c)
    return int(np.array(c, np.uint32).view(np.int32))


def _allgather_ints(values: list[int]) -> np.ndarray:
    """``[process_count, len(values)]``: every process's ``values`` (int32)."""
    return np.asarray(multihost_utils.process_allgather(np.asarray(values, np.int32)))


def gather(tree: Any) -> Any:
    """Concatenate every process's leaves along axis 0, in process order, on every process.

    Each leaf is an array ``[m_p, ...]`` (``m_p`` may differ between processes; dtype and
    trailing shape must not); the result's leaf is ``[Σ_p m_p, ...]`` as numpy, bit-exact
    (leaves travel as bytes, so 64-bit values stay 64-bit without ``jax_enable_x64``).
    A collective: every process must call it with the same tree structure.
    """
    leaves, treedef = jax.tree.flatten(tree)
    arrays = [np.asarray(leaf) for leaf in leaves]
    for i, a in enumerate(arrays):
        if a.ndim == 0 or a.dtype.hasobject:
            raise ValueError(f"tree leaf {i} must be an array with a leading axis and a "
                             f"fixed-size dtype, got shape {a.shape} dtype {a.dtype}")
    if jax.process_count() == 1:
        return jax.tree.unflatten(treedef, arrays)
    # Shapes first: a data collective with mismatched sizes aborts the process (gloo).
    meta = _allgather_ints([len(arrays)] + [v for a in arrays
                                           for v in (a.shape[0], _crc(a.dtype.str, a.shape[1:]))])
    if np.any(meta[:, 0] != len(arrays)):
        raise ValueError(f"gather: processes passed different numbers of leaves "
                         f"{meta[:, 0].tolist()}")
    rows = meta[:, 1::2]  # [P, leaves]
    for i, a in enumerate(arrays):
        sig = meta[:, 2 + 2 * i]
        if np.any(sig != sig[0]):
            raise ValueError(f"gather: leaf {i} has a different dtype or trailing shape on "
                             f"some process (here {a.dtype}{list(a.shape[1:])})")
    # One collective for the whole tree: each process's leaves as one padded byte string.
    row_bytes = np.array([a.dtype.itemsize * int(np.prod(a.shape[1:])) for a in arrays])
    sizes = rows @ row_bytes  # [P] payload bytes per process
    payload = np.zeros(sizes.max(), np.uint8)
    payload[:sizes[jax.process_index()]] = np.frombuffer(
        b"".join(a.tobytes() for a in arrays), np.uint8)
    every = np.asarray(multihost_utils.process_allgather(payload))  # [P, max bytes]
    out = [[] for _ in arrays]
    for p in range(len(rows)):
        at = 0
        for i, a in enumerate(arrays):
            nbytes = rows[p, i] * row_bytes[i]
            out[i].append(every[p, at:at + nbytes].view(a.dtype).reshape(rows[p, i],
                                                                        *a.shape[1:]))
            at += nbytes
    out = [np.concatenate(parts) for parts in out]
    return jax.tree.unflatten(treedef, out)


def descend(f: Callable | Objective, x0: Any, optimizer: optax.GradientTransformation,
            steps: int, *, key: jax.Array | None = None, **kwargs: Any) -> Run:
    """``saddle.descend`` on all of ``x0`` ``[n, d]`` with the work split over processes.

    Every process passes the same arguments; it runs the starts ``my_share(n)`` on its
    local devices with the keys those starts have in a one-process run (``key`` as in
    ``saddle.descend``: one key, start ``i`` using ``fold_in(key, i)``, or ``n`` keys),
    then all per-start fields are gathered, so every process returns the ``Run`` that
    ``saddle.descend(f, x0, optimizer, steps, key=key, **kwargs)`` gives on one process.
    ``kwargs`` go to ``saddle.descend``. Raises ValueError if ``x0`` differs between
    processes or ``n < jax.process_count()``.
    """
    x0 = np.asarray(as_batch(x0, "x0"))
    n = x0.shape[0]
    if n < jax.process_count():
        raise ValueError(f"x0 has {n} starts, fewer than the {jax.process_count()} processes")
    keys = _start_keys(key, n)  # validates key; one per global start
    if jax.process_count() > 1:
        sums = _allgather_ints([_crc(x0.shape, x0.dtype.str, x0.tobytes())])
        if np.any(sums != sums[0]):
            raise ValueError("x0 differs between processes: every process must pass the "
                             "same starts")
    mine = my_share(n)
    run = _descend(f, x0[mine], optimizer, steps, key=keys[mine], **kwargs)
    # every per-start field (a hyper-parameter axis comes first: starts are axis 1 then)
    axis = 0 if run.hyper is None else 1
    per_start = {fld.name: getattr(run, fld.name) for fld in dataclasses.fields(run)
                 if fld.name not in ("steps", "path_steps", "hyper")
                 and getattr(run, fld.name) is not None}
    moved = jax.tree.map(lambda a: np.moveaxis(np.asarray(a), axis, 0), per_start)
    joined = jax.tree.map(lambda a: np.moveaxis(a, 0, axis), gather(moved))
    return dataclasses.replace(run, **joined)
