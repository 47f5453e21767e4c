"""Every experiment with its claim, its verdict from the last run and its runtime; and
``figures``, which reruns them all at their default size.

    python -m experiments                     # the table
    python -m experiments --results DIR       # verdicts read from DIR/<name>/ (default results)
    python -m experiments figures             # rerun all; PNGs copied to docs/figures
    python -m experiments figures --only atlas textbook
    python -m experiments gallery             # rewrite README's gallery from docs/figures

An experiment is a module of this package that defines ``Config``, ``run``, ``summarize``,
``CLAIM`` (one sentence) and ``RUNTIME`` (its default config's wall time on 2 CPU cores, as
measured and recorded in BUILD_NOTES). The last run's verdict is ``summary.json``'s
``verdict`` in ``results/<name>/``; its runtime is the ``runtime_s`` that the runner wrote
into ``config.json`` (marked "non-default" when that run's config was not the default).
``figures`` publishes each run's PNGs and verdict under ``docs/figures/<name>/`` and rewrites
the README's gallery (between ``START`` and ``END``) from them.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import pkgutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import experiments

FIGURES = Path("docs/figures")


@dataclasses.dataclass(frozen=True)
class Entry:
    """One experiment as the table shows it."""

    name: str
    claim: str
    runtime: str
    verdict: str | None = None  # from the last run, if any
    last_runtime_s: float | None = None
    default_config: bool = True
    ran: bool = False  # a finished run is in the results folder (with or without a verdict)


def modules() -> dict[str, ModuleType]:
    """Every experiment module of the package, by name (modules with a ``Config`` and a
    ``CLAIM``), in alphabetical order."""
    found = {}
    for info in sorted(pkgutil.iter_modules(experiments.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"experiments.{info.name}")
        if hasattr(mod, "Config") and hasattr(mod, "CLAIM"):
            found[info.name] = mod
    return found


def _read(path: Path) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return obj if isinstance(obj, dict) else {}


def entry(name: str, mod: ModuleType, results: Path = Path("results")) -> Entry:
    """The table row of experiment ``name``: its claim and stated runtime, plus the verdict
    and runtime of the run in ``results/<name>/`` if one finished there."""
    from saddle.experiment import to_jsonable

    summary = _read(results / name / "summary.json")
    record = _read(results / name / "config.json")
    verdict = summary.get("verdict")
    if isinstance(verdict, dict):
        verdict = verdict.get("verdict")
    runtime_s = record.get("runtime_s")
    default = record.get("config") == to_jsonable(mod.Config()) if record else True
    return Entry(name, " ".join(mod.CLAIM.split()), mod.RUNTIME,
                 verdict if isinstance(verdict, str) else None,
                 float(runtime_s) if isinstance(runtime_s, int | float) else None, default,
                 bool(summary))


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def table(entries: list[Entry], width: int = 100) -> str:
    """The entries as plain text: a header line per experiment, its claim wrapped below."""
    lines = []
    for e in entries:
        last = e.verdict or ("no verdict" if e.ran else "not run")
        if e.last_runtime_s is not None:
            last += f" in {_duration(e.last_runtime_s)}"
        if e.ran and not e.default_config:
            last += " (non-default config)"
        lines.append(f"{e.name:<20} default ≈ {e.runtime:<34} last run: {last}")
        lines += textwrap.wrap(e.claim, width, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(lines)


def web_copy(src: Path, dst: Path, width: int = 1400) -> None:
    """Copy the PNG ``src`` to ``dst`` at most ``width`` pixels wide, quantised to 256
    colours (about a third of the 200-dpi original's size, so the repository stays small)."""
    from PIL import Image

    with Image.open(src) as im:
        im = im.convert("RGB")
        if im.width > width:
            im = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS)
        tmp = dst.with_name(f".{dst.name}.tmp")
        im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(tmp, format="PNG",
                                                                      optimize=True)
        tmp.replace(dst)


def figures(names: list[str], results: Path, out: Path) -> int:
    """Run each experiment at its default config (``python -m experiments.NAME``, so each
    has a fresh process), then copy its PNGs to ``out/<name>/`` (``web_copy``). Returns the
    number that failed; one failure does not stop the others."""
    failed = 0
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] python -m experiments.{name}", flush=True)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", f"experiments.{name}", "--no-progress",
                               "--out", str(results / name)], check=False)
        took = time.perf_counter() - start
        if proc.returncode != 0:
            failed += 1
            print(f"    FAILED (status {proc.returncode}) after {_duration(took)}", flush=True)
            continue
        pngs = publish(name, results, out)
        print(f"    {_duration(took)}; {len(pngs)} figure(s) -> {out / name}/", flush=True)
    return failed


def publish(name: str, results: Path, out: Path) -> list[Path]:
    """Copy experiment ``name``'s PNGs from ``results/<name>/`` to ``out/<name>/``
    (``web_copy``, replacing the old ones) with ``verdict.json``: the run's verdict, its
    reason and its runtime, which ``gallery`` shows beside the figures."""
    from saddle.experiment import write_json

    src, dst = results / name, out / name
    summary, record = _read(src / "summary.json"), _read(src / "config.json")
    if not summary:
        raise FileNotFoundError(f"no finished run of {name} in {src}/")
    dst.mkdir(parents=True, exist_ok=True)
    for old in dst.glob("*.png"):
        old.unlink()
    pngs = sorted(src.glob("*.png"))
    for png in pngs:
        web_copy(png, dst / png.name)
    verdict = summary.get("verdict")
    verdict = verdict if isinstance(verdict, dict) else {"verdict": verdict,
                                                         "because": summary.get("because")}
    write_json(dst / "verdict.json", {"verdict": verdict.get("verdict"),
                                      "because": verdict.get("because"),
                                      "runtime_s": record.get("runtime_s")})
    return pngs


START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def gallery(mods: dict[str, ModuleType], figures_dir: Path = FIGURES) -> str:
    """Markdown: per experiment with published figures (``publish``), its claim, the verdict
    with its reason and the figures, linked relative to the repository root."""
    blocks = []
    for name, mod in mods.items():
        pngs = sorted((figures_dir / name).glob("*.png"))
        if not pngs:
            continue
        v = _read(figures_dir / name / "verdict.json")
        verdict = v.get("verdict") if isinstance(v.get("verdict"), str) else "no verdict"
        lines = [f"#### `{name}`: {verdict}", "", " ".join(mod.CLAIM.split()), ""]
        if v.get("because"):
            took = (f" (default config, {_duration(v['runtime_s'])})"
                    if isinstance(v.get("runtime_s"), int | float) else "")
            lines += [f"*{verdict}*{took}: {' '.join(str(v['because']).split())}", ""]
        lines += [f'<img src="{png.as_posix()}" width="800" alt="{name}: {png.stem}">'
                  for png in pngs]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def update_readme(readme: Path, block: str) -> None:
    """Replace the text between the README's ``START`` and ``END`` markers by ``block``."""
    text = readme.read_text()
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"{readme} needs one {START} line before one {END} line")
    head, rest = text.split(START)
    tail = rest.split(END)[1]
    readme.write_text(f"{head}{START}\n{block}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=("list", "figures", "gallery"),
                        default="list", help="list (default): the table; figures: rerun every "
                        "experiment and publish its figures; gallery: only rewrite the README's "
                        "gallery from docs/figures")
    parser.add_argument("--results", type=Path, default=Path("results"),
                        help="the folder holding each experiment's results/<name>/")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="figures: only these experiments")
    parser.add_argument("--figures-dir", type=Path, default=FIGURES,
                        help="figures: where the PNGs are copied (default docs/figures)")
    parser.add_argument("--readme", type=Path, default=Path("README.md"),
                        help="figures, gallery: the README whose gallery is rewritten")
    ns = parser.parse_args(argv)
    mods = modules()
    if ns.only:
        unknown = sorted(set(ns.only) - set(mods))
        if unknown:
            parser.error(f"--only: unknown experiment(s) {', '.join(unknown)}; "
                         f"known: {', '.join(mods)}")
    if ns.command in ("figures", "gallery"):
        failed = figures(ns.only or list(mods), ns.results, ns.figures_dir) if (
            ns.command == "figures") else 0
        update_readme(ns.readme, gallery(mods, ns.figures_dir))
        print(f"updated the figure gallery in {ns.readme}")
        return 1 if failed else 0
    print(table([entry(n, m, ns.results) for n, m in mods.items()
                 if not ns.only or n in ns.only]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
