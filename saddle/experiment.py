"""The experiment runner: frozen-dataclass config <-> command line, outputs, cache, resume.

An experiment module defines a frozen dataclass ``Config`` (validated in
``__post_init__``) and three pure functions::

    run(cfg, ctx) -> dict[str, np.ndarray]        # the measurement; arrays out
    summarize(cfg, data) -> dict                   # headline numbers, plain JSON
    plot(cfg, data) -> dict[str, Figure]           # figures, from the data only

and ends with ``if __name__ == "__main__": saddle.experiment.main(Config, run,
plot, summarize)``. ``main`` turns every field into a ``--kebab-case`` flag,
writes ``config.json``, ``summary.json``, ``data.npz`` and each figure as PNG
and PDF to ``results/NAME/`` (or ``--out``), atomically. A second run of the
same config reuses ``data.npz`` unless ``--force``. Long runs split their work
with ``ctx.stage(name, fn)``: each finished stage is saved at once, so an
interrupted run resumes from the stages it had finished.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import io
import json
import math
import os
import shutil
import sys
import tempfile
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

Data = dict[str, np.ndarray]

__all__ = ["Context", "load", "main", "run_experiment"]


# ----------------------------------------------------------------------------- atomic files
def _atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` via a temp file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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


def write_figure(fig: Any, stem: Path) -> list[Path]:
    """Save a matplotlib figure as ``stem.png`` (200 dpi) and ``stem.pdf``, atomically."""
    paths = []
    for ext in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=ext, dpi=200, bbox_inches="tight")
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

    def progress(
        self, items: Iterable[Any], *, total: int | None = None, desc: str = ""
    ) -> Iterator[Any]:
        """Iterate ``items`` with a progress bar on stderr (silent if disabled)."""
        if not self.show_progress:
            yield from items
            return
        from tqdm.auto import tqdm

        yield from tqdm(items, total=total, desc=desc, file=sys.stderr, leave=False)


# ----------------------------------------------------------------------------- config <-> CLI
def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _parse_bool(text: str) -> bool:
    if text.lower() in _TRUE + _FALSE:
        return text.lower() in _TRUE
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _scalar_parser(tp: Any, optional: bool = False) -> Callable[[str], Any]:
    if tp is bool:
        parse = _parse_bool
    elif tp in (int, float, str):
        parse = tp
    else:
        raise TypeError(f"unsupported config field type {tp!r}")
    if not optional:
        return parse

    def parse_optional(text: str) -> Any:
        return None if text.lower() == "none" else parse(text)

    parse_optional.__name__ = getattr(parse, "__name__", "value")  # argparse's error text
    return parse_optional


def build_parser(config_cls: type, prog: str, description: str | None) -> argparse.ArgumentParser:
    """An argparse parser with one ``--kebab-case`` flag per dataclass field."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    hints = typing.get_type_hints(config_cls)
    defaults = config_cls()
    for field in dataclasses.fields(config_cls):
        tp = hints[field.name]
        default = getattr(defaults, field.name)
        origin = typing.get_origin(tp)
        kwargs: dict[str, Any] = {"default": default, "dest": field.name}
        if tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif origin is tuple:
            (elem, *_rest) = typing.get_args(tp)
            kwargs.update(nargs="+", type=_scalar_parser(elem), metavar=elem.__name__.upper())
        elif origin in (typing.Union, types.UnionType):
            (elem,) = [a for a in typing.get_args(tp) if a is not type(None)]
            kwargs.update(type=_scalar_parser(elem, optional=True),
                          metavar=elem.__name__.upper() + "|none")
        else:
            kwargs.update(type=_scalar_parser(tp), metavar=tp.__name__.upper())
        kwargs["help"] = field.metadata.get("help", field.name.replace("_", " "))
        parser.add_argument(_flag(field.name), **kwargs)
    parser.add_argument("--out", type=Path, default=None, help="output folder (results/NAME)")
    parser.add_argument("--force", action="store_true", help="recompute even if results exist")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def config_from_args(config_cls: type, ns: argparse.Namespace) -> Any:
    values = {}
    for field in dataclasses.fields(config_cls):
        v = getattr(ns, field.name)
        values[field.name] = tuple(v) if isinstance(v, list) else v
    return config_cls(**values)


def config_hash(cfg: Any) -> str:
    text = json.dumps(to_jsonable(cfg), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- running
@dataclasses.dataclass(frozen=True)
class Result:
    """What ``run_experiment`` produced: arrays, headline numbers and written files."""

    data: Data
    summary: dict[str, Any]
    out: Path
    figures: tuple[Path, ...]
    reused: bool


def run_experiment(
    cfg: Any,
    run: Callable[[Any, Context], Mapping[str, Any]],
    plot: Callable[[Any, Data], Mapping[str, Any]] | None,
    summarize: Callable[[Any, Data], dict[str, Any]],
    *,
    out: str | Path,
    force: bool = False,
    show_progress: bool = True,
) -> Result:
    """Run (or reuse) an experiment and write its outputs to ``out``.

    Reuses ``out/data.npz`` when ``out/config.json`` holds the same config and
    ``force`` is false; otherwise runs with stages saved under
    ``out/.stages/<config hash>/`` so that an interrupted run resumes.
    """
    out = Path(out)
    cfg_json = to_jsonable(cfg)
    config_path, data_path = out / "config.json", out / "data.npz"
    reuse = (
        not force
        and data_path.exists()
        and config_path.exists()
        and json.loads(config_path.read_text()).get("config") == cfg_json
    )
    stage_dir = out / ".stages" / config_hash(cfg)
    if reuse:
        data = read_npz(data_path)
    else:
        if force and stage_dir.exists():
            for p in stage_dir.glob("*.npz"):
                p.unlink()
        ctx = Context(stage_dir=stage_dir, show_progress=show_progress)
        data = {k: np.asarray(v) for k, v in run(cfg, ctx).items()}
        # The old config.json goes first: a crash between the two writes below must not
        # leave this config's data.npz beside another config's config.json (reused as it).
        config_path.unlink(missing_ok=True)
        write_npz(data_path, data)
        write_json(config_path, {"experiment": out.name, "config": cfg_json})
        shutil.rmtree(stage_dir, ignore_errors=True)  # finished: the stages live in data.npz
        with contextlib.suppress(OSError):
            stage_dir.parent.rmdir()  # only if no other config's stages remain
    summary = summarize(cfg, data)
    write_json(out / "summary.json", summary)
    figures: list[Path] = []
    if plot is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        for name, fig in plot(cfg, data).items():
            figures += write_figure(fig, out / name)
            plt.close(fig)
    return Result(data, summary, out, tuple(figures), reuse)


def load(out: str | Path) -> tuple[dict[str, Any], dict[str, Any], Data]:
    """Read a finished experiment folder: ``(config, summary, data)``."""
    out = Path(out)
    config = json.loads((out / "config.json").read_text())["config"]
    summary = json.loads((out / "summary.json").read_text())
    return config, summary, read_npz(out / "data.npz")


def main(
    config_cls: type,
    run: Callable[[Any, Context], Mapping[str, Any]],
    plot: Callable[[Any, Data], Mapping[str, Any]] | None,
    summarize: Callable[[Any, Data], dict[str, Any]],
    argv: list[str] | None = None,
) -> Result:
    """Command-line entry point of an experiment module (see the module docstring)."""
    module = sys.modules.get(run.__module__)
    modname = run.__module__
    if modname == "__main__" and getattr(module, "__spec__", None) is not None:
        modname = module.__spec__.name  # started with python -m experiments.NAME
    name = modname.rsplit(".", 1)[-1]
    doc = (module.__doc__ or "").strip() if module else ""
    parser = build_parser(config_cls, prog=f"python -m experiments.{name}", description=doc)
    ns = parser.parse_args(argv)
    try:
        cfg = config_from_args(config_cls, ns)
    except (ValueError, TypeError) as err:
        parser.exit(2, f"{parser.prog}: error: {err}\n")
    out = ns.out or Path("results") / name
    result = run_experiment(
        cfg, run, plot, summarize, out=out, force=ns.force, show_progress=not ns.no_progress
    )
    verb = "reused" if result.reused else "wrote"
    print(f"{verb} results in {out}/")
    for path in result.figures:
        if path.suffix == ".png":
            print(f"  figure: {path}")
    print(f"  summary: {out / 'summary.json'}")
    return result
