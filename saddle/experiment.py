"""The experiment runner: frozen-dataclass config <-> command line, outputs, cache, resume.

An experiment module defines a frozen dataclass ``Config`` (validated in
``__post_init__``) and three pure functions::

    run(cfg, ctx) -> dict[str, np.ndarray]        # the measurement; arrays out
    summarize(cfg, data) -> dict                   # headline numbers, plain JSON
    plot(cfg, data) -> dict[str, Figure]           # figures, from the data only

and ends with ``if __name__ == "__main__": saddle.experiment.main(Config, run,
plot, summarize)``. Fields are declared with ``field(default, help, choices)``;
``main`` turns each into a ``--kebab-case`` flag whose ``--help`` line is that
sentence (and the valid names), and writes ``config.json``, ``summary.json``,
``data.npz`` and each figure as PNG and PDF to ``results/NAME/`` (or ``--out``).

Guarantees of ``run_experiment`` (and so of ``main``):

* ``out`` is checked before ``run`` is called (a non-empty path, not a file,
  creatable, writable) and locked for the whole run (``flock`` on ``out/.lock``):
  a second run on the same folder fails at once with the holder's pid.
* Files are written to a temp file in the same folder and moved into place
  (``os.replace``), with the mode a plain ``open()`` gives (0666 & ~umask). Temp
  files left by killed runs are removed at the next start.
* Results are keyed on the config and the code version (``code_version``: the
  experiment module's source and every .py/.json file of ``saddle``): a run
  reuses ``data.npz`` only when both match, else it recomputes.
* ``config.json`` also records ``runtime_s``: the wall time of the ``run`` call that
  produced ``data.npz`` (``python -m experiments`` shows it), and ``devices``, the local
  devices it ran on (``--cpu-devices``).
* Long runs split their work with ``ctx.stage(name, fn)``: each finished stage is
  saved at once under ``out/.stages/<key>/``, so an interrupted run, started again,
  resumes from the stages it had finished.
* ``force=True`` (``--force``) discards the folder's finished result (``config.json``,
  ``data.npz``) and the stages of earlier runs, then computes anew; if that forced run
  is interrupted, running again (with or without ``--force``) resumes from the stages
  it finished, since its marker (``.stages/<key>/run.json``) records that it was forced.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import io
import json
import math
import operator
import os
import re
import secrets
import shutil
import sys
import time
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

Data = dict[str, np.ndarray]

__all__ = ["Context", "OutputError", "check_fields", "code_version", "field", "load", "main",
           "part", "run_experiment", "verdict"]

LOCK_NAME, STAGES = ".lock", ".stages"
# The names of this module's temp files, ".NAME.XXXXXXXX.tmp" (also tempfile.mkstemp's).
_TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


class OutputError(Exception):
    """The output folder cannot be used: a bad path, not writable, or locked by another run."""


# ----------------------------------------------------------------------------- atomic files
def _atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` via a temp file in the same folder and ``os.replace``.

    The file gets the mode ``open()`` would give it (0666 & ~umask); the temp file is
    removed if anything fails before the replace.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def to_jsonable(obj: Any) -> Any:
    """numpy/jax scalars and arrays -> plain JSON values; NaN and inf -> None."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_jsonable(v) for v in obj]
    if hasattr(obj, "__array__") and not isinstance(obj, np.generic):
        return to_jsonable(np.asarray(obj).tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path: Path, obj: Any) -> None:
    text = json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"
    _atomic_write_bytes(path, text.encode())


def write_npz(path: Path, data: Mapping[str, Any]) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in data.items()})
    _atomic_write_bytes(path, buf.getvalue())


def read_npz(path: Path) -> Data:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


FIGURE_FORMATS = ("png", "pdf")


def write_figure(fig: Any, stem: Path, formats: Sequence[str] = FIGURE_FORMATS,
                 dpi: int = 200) -> list[Path]:
    """Save a matplotlib figure as ``stem.<format>`` for each of ``formats`` (``dpi`` for the
    raster ones), atomically."""
    paths = []
    for ext in formats:
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=dpi, bbox_inches="tight")
        path = stem.with_suffix(f".{ext}")
        _atomic_write_bytes(path, buf.getvalue())
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------- context
@dataclasses.dataclass(frozen=True)
class Context:
    """What ``run`` may use besides its config: resumable stages and progress bars.

    ``stage_dir`` is ``None`` when nothing should be cached (library use).
    """

    stage_dir: Path | None = None
    show_progress: bool = True

    def stage(self, name: str, compute: Callable[[], Mapping[str, Any]]) -> Data:
        """Return ``compute()`` (a dict of arrays), saved as a finished stage.

        If a previous, interrupted run of the same config finished this stage,
        its saved arrays are returned instead of recomputing.
        """
        if self.stage_dir is None:
            return {k: np.asarray(v) for k, v in compute().items()}
        path = self.stage_dir / f"{name}.npz"
        if path.exists():
            return read_npz(path)
        data = {k: np.asarray(v) for k, v in compute().items()}
        write_npz(path, data)
        return data

    def stages(self, names: Sequence[str], compute: Callable[[int, str], Mapping[str, Any]],
               *, desc: str = "") -> Data:
        """One ``stage`` per name, ``compute(i, name)`` for the i-th, with a progress bar;
        the arrays merged into one flat dict under ``f"{name}__{key}"`` (see ``part``)."""
        data: Data = {}
        for i, name in enumerate(self.progress(names, total=len(names), desc=desc)):
            part_ = self.stage(name, lambda i=i, name=name: compute(i, name))
            data |= {f"{name}__{k}": v for k, v in part_.items()}
        return data

    def progress(
        self, items: Iterable[Any], *, total: int | None = None, desc: str = ""
    ) -> Iterator[Any]:
        """Iterate ``items`` with a progress bar on stderr (silent if disabled)."""
        if not self.show_progress:
            yield from items
            return
        from tqdm.auto import tqdm

        yield from tqdm(items, total=total, desc=desc, file=sys.stderr, leave=False)


def part(data: Mapping[str, Any], tag: str) -> dict[str, Any]:
    """The entries of a flat data dict stored under ``f"{tag}__{key}"``, keyed by ``key``
    (experiments that measure several objectives keep each one's arrays under its tag)."""
    prefix = f"{tag}__"
    return {k[len(prefix):]: v for k, v in data.items() if k.startswith(prefix)}


def verdict(passed: Sequence[bool], because: str) -> dict[str, str]:
    """A summary's ``{"verdict": word, "because": because}`` from the outcomes of the tests
    of a claim: "confirmed" when every test passed, "refuted" when none did, "depends"
    when some did, "inconclusive" when nothing could be tested (``passed`` empty)."""
    passed = [bool(p) for p in passed]
    word = ("inconclusive" if not passed else "confirmed" if all(passed)
            else "refuted" if not any(passed) else "depends")
    return {"verdict": word, "because": because}


# ----------------------------------------------------------------------------- config <-> CLI
def field(default: Any, help: str,
          choices: Sequence[Any] | Callable[[], Sequence[Any]] | None = None, *,
          at_least: float | None = None, above: float | None = None,
          at_most: float | None = None, below: float | None = None) -> Any:
    """A config field with its ``--help`` sentence and, for a field that takes names, the
    valid names (a sequence, or a function returning one, called when the parser is built);
    for a number (or a tuple of numbers), its valid range: ≥ ``at_least``, > ``above``,
    ≤ ``at_most``, < ``below`` (finite). ``check_fields`` checks both; ``--help`` lists them.

    >>> @dataclasses.dataclass(frozen=True, kw_only=True)
    ... class Config:
    ...     steps: int = field(1000, "Gradient steps per start.", at_least=1)
    ...     optimizer: str = field("gd", "The optimizer.", choices=("gd", "adam"))
    """
    if not isinstance(help, str) or not help.strip():
        raise ValueError(f"help must be a sentence describing the field, got {help!r}")
    bounds = {">=": at_least, ">": above, "<=": at_most, "<": below}
    return dataclasses.field(default=default, metadata={
        "help": help, "choices": choices, "range": {k: v for k, v in bounds.items()
                                                    if v is not None}})


_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


def _out_of_range(value: Any, bounds: Mapping[str, float]) -> str | None:
    """Why ``value`` breaks ``bounds`` ({">=": a, ">": b, "<=": c, "<": d}), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    if not math.isfinite(value):
        return "must be a finite number"
    for op, bound in bounds.items():
        if not _COMPARE[op](value, bound):
            return f"must be {'a finite number ' if op == '>' else ''}{op} {bound:g}"
    return None


def check_fields(cfg: Any) -> None:
    """Check the fields of the dataclass ``cfg`` against what ``field`` declared: a field
    with ``choices`` must hold one of them, or a tuple of them without repeats (``None``
    passes); a field with a range must hold a number in it, or a tuple of such numbers.
    A one-line ``ValueError`` naming the field; call it first in ``__post_init__``, so that
    a config built in Python is checked as the command line is."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        values = value if isinstance(value, tuple) else (value,)
        choices = f.metadata.get("choices")
        if choices is not None:
            choices = tuple(choices() if callable(choices) else choices)
            for v in values:
                if v is not None and v not in choices:
                    raise ValueError(f"unknown value {v!r} in {f.name}; valid: "
                                     f"{', '.join(map(str, choices))}")
            if len(set(values)) != len(values):
                raise ValueError(f"{f.name} names a value twice: {value}")
        bounds = f.metadata.get("range")
        for v in values if bounds else ():
            why = _out_of_range(v, bounds)
            if why:
                raise ValueError(f"{f.name} {why}, got {v!r}")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _parse_bool(text: str) -> bool:
    if text.lower() in _TRUE + _FALSE:
        return text.lower() in _TRUE
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _parse_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _parse_str(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a non-empty value, got {text!r}")
    return text


def _scalar_parser(tp: Any, optional: bool = False) -> Callable[[str], Any]:
    parsers = {bool: _parse_bool, int: int, float: _parse_float, str: _parse_str}
    if tp not in parsers:
        raise TypeError(f"unsupported config field type {tp!r}")
    parse = parsers[tp]
    if not optional:
        return parse

    def parse_optional(text: str) -> Any:
        return None if text.lower() == "none" else parse(text)

    parse_optional.__name__ = getattr(parse, "__name__", "value")  # argparse's error text
    return parse_optional


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line gets one line on stderr, not the usage too."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


RUNNER_FLAGS = ("out", "force", "no_progress", "cpu_devices")  # not usable as field names


def build_parser(config_cls: type, prog: str, description: str | None) -> argparse.ArgumentParser:
    """An argparse parser with one ``--kebab-case`` flag per dataclass field.

    Every field must carry a help sentence (declare it with ``field``): a field without
    one raises ``TypeError``. Fields with ``choices`` accept only those values and list
    them in ``--help``. Flags are never abbreviated; floats must be finite and strings
    non-empty; bad values exit with one line (status 2).
    """
    parser = _Parser(
        prog=prog,
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        allow_abbrev=False,
    )
    hints = typing.get_type_hints(config_cls)
    defaults = config_cls()
    for f in dataclasses.fields(config_cls):
        if f.name in RUNNER_FLAGS:
            raise TypeError(f"{config_cls.__name__}.{f.name} clashes with the runner's "
                            f"--{f.name.replace('_', '-')} flag: rename the field")
        text = f.metadata.get("help")
        if not text:
            raise TypeError(f"{config_cls.__name__}.{f.name} has no help text: declare it as "
                            f"{f.name}: ... = saddle.experiment.field(default, help)")
        tp = hints[f.name]
        origin = typing.get_origin(tp)
        kwargs: dict[str, Any] = {"default": getattr(defaults, f.name), "dest": f.name}
        optional = False
        if tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif origin is tuple:
            (elem, *_rest) = typing.get_args(tp)
            kwargs.update(nargs="+", type=_scalar_parser(elem), metavar=elem.__name__.upper())
        elif origin in (typing.Union, types.UnionType):
            (elem,) = [a for a in typing.get_args(tp) if a is not type(None)]
            optional = True
            kwargs.update(type=_scalar_parser(elem, optional=True),
                          metavar=elem.__name__.upper() + "|none")
        else:
            kwargs.update(type=_scalar_parser(tp), metavar=tp.__name__.upper())
        choices = f.metadata.get("choices")
        if choices is not None:
            choices = tuple(choices() if callable(choices) else choices)
            kwargs["choices"] = (*choices, None) if optional else choices
            text = f"{text} Valid: {', '.join(map(str, choices))}."
        if f.metadata.get("range"):
            bounds = (f"{op} {b:g}" for op, b in f.metadata["range"].items())
            text = f"{text} Range: {', '.join(bounds)}."
        kwargs["help"] = text.replace("%", "%%")  # argparse %-formats help strings
        parser.add_argument(_flag(f.name), **kwargs)
    parser.add_argument("--out", default=None,
                        metavar="DIR", help="Output folder; none means results/NAME.")
    parser.add_argument("--force", action="store_true",
                        help="Discard this folder's finished result and the stages of earlier "
                             "runs, and compute anew; an interrupted forced run resumes when "
                             "started again.")
    parser.add_argument("--no-progress", action="store_true", help="Hide progress bars.")
    parser.add_argument("--cpu-devices", type=_scalar_parser(int), default=None, metavar="INT",
                        help="XLA CPU devices descend shards its runs over (0: one per core; "
                             "the numbers equal one device's to rounding); none: JAX's own "
                             "count (one, unless JAX_NUM_CPU_DEVICES or XLA_FLAGS set it).")
    return parser


def config_from_args(config_cls: type, ns: argparse.Namespace) -> Any:
    values = {}
    for f in dataclasses.fields(config_cls):
        v = getattr(ns, f.name)
        values[f.name] = tuple(v) if isinstance(v, list) else v
    return config_cls(**values)


def config_hash(cfg: Any, code: str = "") -> str:
    """16 hex digits identifying a config (and a code version, if given)."""
    text = json.dumps({"config": to_jsonable(cfg), "code_version": code}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- code version
@functools.cache
def _tree_digest(root: Path) -> str:
    """sha256 over every .py and .json file under ``root``: relative path, size, bytes."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.suffix in (".py", ".json") and p.is_file():
            payload = p.read_bytes()
            h.update(f"{p.relative_to(root).as_posix()}\0{len(payload)}\0".encode())
            h.update(payload)
    return h.hexdigest()


@functools.cache
def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_version(module_file: str | Path | None = None) -> str:
    """16 hex digits identifying the code a result depends on: every .py and .json file of
    the ``saddle`` package and, if given, the experiment module's file; each file is read
    once per process."""
    h = hashlib.sha256(_tree_digest(Path(__file__).resolve().parent).encode())
    if module_file is not None:
        h.update(_file_digest(Path(module_file).resolve()).encode())
    return h.hexdigest()[:16]


def _module_file(fn: Callable) -> str | None:
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    return getattr(module, "__file__", None)


# ----------------------------------------------------------------------------- output folder
def _prepare_out(out: str | Path) -> Path:
    """Check ``out`` names a usable folder and create it; ``OutputError`` if not."""
    if not str(out).strip():
        raise OutputError(f"output folder must be a non-empty path, got {str(out)!r}")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise OutputError(f"output folder {str(out)!r} is an existing file")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"cannot create output folder {str(out)!r}: {err.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {str(out)!r} is not writable")
    return path


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``out/.lock`` for the block; ``OutputError`` at once
    (naming the holder's pid, which the holder writes into the file) if another holds it."""
    try:
        fd = os.open(out / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as err:
        raise OutputError(f"output folder {str(out)!r} is not writable: {err.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise OutputError(f"output folder {str(out)!r} is in use by another run (pid "
                              f"{holder}); wait for it or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def _remove_stale_temps(out: Path) -> list[Path]:
    """Delete this module's temp files in ``out`` and its stage folders: left by writers
    that died, since the caller holds the folder's lock. Returns the paths removed."""
    stages = out / STAGES
    folders = [out, *(p for p in stages.iterdir() if p.is_dir())] if stages.is_dir() else [out]
    removed = [p for folder in folders for p in folder.iterdir()
               if _TEMP_NAME.fullmatch(p.name) and p.is_file()]
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


def _read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``, or ``{}`` if it is missing or unreadable."""
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return obj if isinstance(obj, dict) else {}


# ----------------------------------------------------------------------------- running
@dataclasses.dataclass(frozen=True)
class Result:
    """What ``run_experiment`` produced: arrays, headline numbers and written files."""

    data: Data
    summary: dict[str, Any]
    out: Path
    figures: tuple[Path, ...]
    reused: bool


def _compute(cfg: Any, run: Callable, out: Path, record: dict[str, Any], force: bool,
             show_progress: bool) -> Data:
    """Run with resumable stages and write ``data.npz`` and ``config.json`` (``record``)."""
    stage_dir = out / STAGES / config_hash(record["config"], record["code_version"])
    marker = stage_dir / "run.json"
    if force:  # the finished result goes now, so no later run can reuse it instead
        (out / "config.json").unlink(missing_ok=True)
        (out / "data.npz").unlink(missing_ok=True)
        if not _read_json(marker).get("forced"):  # stages not made by this forced run
            shutil.rmtree(stage_dir, ignore_errors=True)
    if not marker.exists():
        write_json(marker, {**record, "forced": force})
    ctx = Context(stage_dir=stage_dir, show_progress=show_progress)
    start = time.perf_counter()
    data = {k: np.asarray(v) for k, v in run(cfg, ctx).items()}
    record = {**record, "runtime_s": time.perf_counter() - start,  # this call only
              "devices": _devices()}
    # The old config.json goes first: a crash between the two writes below must not
    # leave this config's data.npz beside another config's config.json (reused as it).
    (out / "config.json").unlink(missing_ok=True)
    write_npz(out / "data.npz", data)
    write_json(out / "config.json", record)
    shutil.rmtree(stage_dir, ignore_errors=True)  # finished: the stages live in data.npz
    with contextlib.suppress(OSError):
        stage_dir.parent.rmdir()  # only if no other config's stages remain
    return data


def _devices() -> str:
    """The local devices a run used, e.g. ``"2 cpu"``."""
    import jax

    return f"{jax.local_device_count()} {jax.default_backend()}"


def run_experiment(
    cfg: Any,
    run: Callable[[Any, Context], Mapping[str, Any]],
    plot: Callable[[Any, Data], Mapping[str, Any]] | None,
    summarize: Callable[[Any, Data], dict[str, Any]],
    *,
    out: str | Path,
    force: bool = False,
    show_progress: bool = True,
    figure_formats: Sequence[str] = FIGURE_FORMATS,
    dpi: int = 200,
) -> Result:
    """Run (or reuse) an experiment and write its outputs to ``out``.

    Checks and locks ``out`` before calling anything (``OutputError`` if it is unusable
    or another run holds it) and removes temp files of dead writers. Reuses
    ``out/data.npz`` when ``out/config.json`` holds the same config and code version
    (``code_version`` of ``run``'s module) and ``force`` is false; otherwise runs with
    stages under ``out/.stages/<key>/`` so that an interrupted run resumes. ``force``:
    see the module docstring. Figures go out as each of ``figure_formats`` ("png", "pdf",
    "svg"), raster ones at ``dpi``; tests pass ``("png",)`` and a low ``dpi`` to save time.
    """
    bad = [f for f in figure_formats if f not in ("png", "pdf", "svg")] or (
        [] if figure_formats else ["(none)"])
    if isinstance(figure_formats, str) or bad:
        raise ValueError(f"figure_formats must be a non-empty sequence of 'png', 'pdf', 'svg'; "
                         f"got {figure_formats!r}")
    if not isinstance(dpi, int) or isinstance(dpi, bool) or dpi < 10:
        raise ValueError(f"dpi must be an integer >= 10, got {dpi!r}")
    out = _prepare_out(out)
    with _locked(out):
        _remove_stale_temps(out)
        record = {"experiment": out.name, "config": to_jsonable(cfg),
                  "code_version": code_version(_module_file(run))}
        old = _read_json(out / "config.json")
        reuse = (not force and (out / "data.npz").exists()
                 and old.get("config") == record["config"]
                 and old.get("code_version") == record["code_version"])
        if reuse:
            data = read_npz(out / "data.npz")
        else:
            data = _compute(cfg, run, out, record, force, show_progress)
        summary = summarize(cfg, data)
        write_json(out / "summary.json", summary)
        figures: list[Path] = []
        if plot is not None:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            for name, fig in plot(cfg, data).items():
                figures += write_figure(fig, out / name, figure_formats, dpi)
                plt.close(fig)
    return Result(data, summary, out, tuple(figures), reuse)


def load(out: str | Path) -> tuple[dict[str, Any], dict[str, Any], Data]:
    """Read a finished experiment folder: ``(config, summary, data)``."""
    out = Path(out)
    config = json.loads((out / "config.json").read_text())["config"]
    summary = json.loads((out / "summary.json").read_text())
    return config, summary, read_npz(out / "data.npz")


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def main(
    config_cls: type,
    run: Callable[[Any, Context], Mapping[str, Any]],
    plot: Callable[[Any, Data], Mapping[str, Any]] | None,
    summarize: Callable[[Any, Data], dict[str, Any]],
    argv: list[str] | None = None,
    *,
    cpu_devices: int | None = None,
) -> Result:
    """Command-line entry point of an experiment module (see the module docstring).

    Once the config is valid it asks for ``cpu_devices`` XLA CPU devices (the default of
    ``--cpu-devices``; 0: one per core) with ``saddle.use_cpu_cores``, so that ``descend``
    can run on every core; None leaves JAX's own count (one CPU device unless the
    environment sets it: several hung XLA:CPU in one experiment, see BUILD_NOTES). A
    process whose JAX has started already keeps its devices. A bad flag, config value or
    output folder exits with one line on stderr (status 2) before ``run`` is called.
    """
    if cpu_devices is not None and (not isinstance(cpu_devices, int)
                                    or isinstance(cpu_devices, bool) or cpu_devices < 0):
        raise ValueError(f"cpu_devices must be an integer >= 0 or None, got {cpu_devices!r}")
    module = sys.modules.get(run.__module__)
    modname = run.__module__
    if modname == "__main__" and getattr(module, "__spec__", None) is not None:
        modname = module.__spec__.name  # started with python -m experiments.NAME
    name = modname.rsplit(".", 1)[-1]
    doc = (module.__doc__ or "").strip() if module else ""
    parser = build_parser(config_cls, prog=f"python -m {modname}", description=doc)
    parser.set_defaults(cpu_devices=cpu_devices)
    ns = parser.parse_args(argv)
    if ns.cpu_devices is not None and ns.cpu_devices < 0:
        parser.exit(2, f"{parser.prog}: error: --cpu-devices must be >= 0, got "
                       f"{ns.cpu_devices}\n")
    try:
        cfg = config_from_args(config_cls, ns)
    except (ValueError, TypeError) as err:
        parser.exit(2, f"{parser.prog}: error: {_one_line(err)}\n")
    if ns.cpu_devices is not None:
        from saddle.descent import use_cpu_cores

        use_cpu_cores(ns.cpu_devices or None)
    out = Path("results") / name if ns.out is None else ns.out
    try:
        result = run_experiment(
            cfg, run, plot, summarize, out=out, force=ns.force, show_progress=not ns.no_progress
        )
    except OutputError as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    verb = "reused" if result.reused else "wrote"
    print(f"{verb} results in {result.out}/")
    for path in result.figures:
        if path.suffix == ".png":
            print(f"  figure: {path}")
    print(f"  summary: {result.out / 'summary.json'}")
    return result
