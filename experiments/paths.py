"""Paths between minima: the full minima–saddle graph from climbing-image bands, and its
disconnectivity graph.

Claim tested: climbing-image nudged elastic bands run between every pair of minima at once
(``saddle.landscape.connect_minima``) recover the minima–saddle graph of a 2-D landscape:
every saddle they find is a catalogued index-1 saddle (Newton-refined, certified by its
Hessian), the graph they build is connected, and its barriers are the literature's.

Method: the minima come from ``saddle.find_critical_points`` (``n_starts`` starts). A band
of ``images`` images relaxes between each pair of minima (Adam, ``steps`` steps, the
highest image climbing after ``climb`` of them); every interior maximum of a band's energy
profile is refined by Newton and kept if its Hessian has index 1; the two steepest-descent
paths from each saddle name the minima it connects, and a minimum they reach that was not
known joins the database (then bands to it run too). A band between two minima whose path
passes a third has two maxima: both are refined, and each saddle is attached to the minima
its descent paths reach, not to the band's ends. Saddles are matched with the catalogue
within 10⁻⁶ of the box diagonal; barriers are f(saddle) − f(minimum) both ways; the
disconnectivity graph merges minima at the saddle energies (``saddle.landscape.merge_tree``).

Expected: Müller–Brown: 3 minima (−146.70, −108.17, −80.77), 2 saddles (−40.66, −72.25)
(Müller & Brown 1979); six-hump camel: 6 minima, 7 saddles; Himmelblau: 4 minima, 4
saddles — every catalogued saddle, each index 1, graphs connected. Verdict (summary.json):
"confirmed" when on every landscape each saddle found is a catalogued index-1 saddle and
the graph is connected (Müller–Brown: and its energies are the literature's to 0.01),
"refuted" when on none, "depends" when on some.

Run: python -m experiments.paths           (about 2 minutes on 2 shared CPU cores)
     python -m experiments.paths --objectives muller_brown --images 25
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

import saddle
from saddle import plot as splot
from saddle.critical import match_catalogue
from saddle.experiment import field
from saddle.landscape import connect_minima, draw, merge_tree

MATCH_TOL = 1e-6  # × box diagonal: a found saddle is the catalogued one
# Müller & Brown (1979), as tabulated in the path-method literature: minima and saddles.
MULLER_BROWN = {"minima": (-146.70, -108.17, -80.77), "saddles": (-72.25, -40.66)}
LITERATURE_TOL = 0.01


def catalogued_2d() -> tuple[str, ...]:
    """Registered 2-D objectives with a complete catalogue (their saddles can be checked)."""
    out = []
    for n in saddle.objectives.names():
        if saddle.objectives.is_n_dim(n):
            continue
        obj = saddle.objectives.get(n)
        if obj.dim == 2 and obj.complete and obj.bounds is not None:
            out.append(n)
    return tuple(out)


CLAIM = ("Climbing-image NEB between every pair of minima recovers a 2-D landscape's catalogued "
         "saddles and its literature barriers.")
RUNTIME = "2 min"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config:
    objectives: tuple[str, ...] = field(
        ("muller_brown", "six_hump_camel", "himmelblau"), "2-D objectives whose minima are "
        "joined by bands.", choices=catalogued_2d)
    n_starts: int = field(1024, "Starts of the critical-point search for the minima.",
                          at_least=1)
    images: int = field(17, "Images per band, ends included.", at_least=3)
    steps: int = field(2000, "Adam steps relaxing each band.", at_least=1)
    lr: float = field(0.01, "Adam's first step as a fraction of a band's end-to-end distance.",
                      above=0)
    spring: float = field(1.0, "Spring constant in units of the largest gradient on the "
                          "initial band per image spacing.", above=0)
    climb: float = field(0.3, "Fraction of the steps before the highest image climbs.",
                         at_least=0, at_most=1)
    seed: int = field(0, "Seed of the jax.random keys.")

    def __post_init__(self) -> None:
        saddle.experiment.check_fields(self)
        if not self.objectives:
            raise ValueError("objectives is empty")
        if len(set(self.objectives)) != len(self.objectives):
            raise ValueError(f"objectives has repeats: {self.objectives}")


def measure(cfg: Config, name: str, key: jax.Array) -> dict[str, np.ndarray]:
    """Minima, bands, saddles and the merge tree of one landscape."""
    obj = saddle.objectives.get(name)
    cps = saddle.find_critical_points(obj, key=key, n_starts=cfg.n_starts)
    minima = cps.x[cps.kind == "minimum"]
    db = connect_minima(obj, minima, images=cfg.images, steps=cfg.steps, lr=cfg.lr,
                        spring=cfg.spring, climb=cfg.climb)
    diag = float(np.linalg.norm(obj.upper - obj.lower))
    known = [p for p in obj.known if p.kind == "saddle" and p.index == 1]
    known_x = np.array([p.x for p in known]).reshape(-1, 2)
    in_cat, match = match_catalogue(db.saddle_x.reshape(-1, 2), known_x, MATCH_TOL * diag)
    tree = merge_tree(db.minima_value, db.edges, db.saddle_value)
    return {"minima_x": db.minima_x, "minima_value": db.minima_value,
            "saddle_x": db.saddle_x, "saddle_value": db.saddle_value,
            "saddle_eigenvalues": db.saddle_eigenvalues, "edges": db.edges,
            "barrier": db.barrier, "saddle_band": db.saddle_band, "pairs": db.pairs,
            "band_path": db.bands.path, "band_value": db.bands.value,
            "band_climbing": db.bands.climbing, "band_force": db.bands.force,
            "candidates": np.asarray(db.candidates), "rejected": np.asarray(db.rejected),
            "rounds": np.asarray(db.rounds), "in_catalogue": in_cat,
            "catalogue_found": match >= 0, "tree_value": tree.value,
            "tree_children": tree.children, "tree_saddle": tree.saddle,
            "tree_roots": np.asarray(tree.roots), "n_found_minima": np.asarray(len(minima))}


def run(cfg: Config, ctx: saddle.experiment.Context) -> dict[str, np.ndarray]:
    root = jax.random.PRNGKey(cfg.seed)
    data = {}
    for i, name in enumerate(ctx.progress(cfg.objectives, desc="landscapes")):
        part = ctx.stage(name, lambda name=name, i=i:
                         measure(cfg, name, jax.random.fold_in(root, i)))
        data |= {f"{name}__{k}": v for k, v in part.items()}
    return data



def summarize(cfg: Config, data: dict) -> dict:
    out: dict = {"objectives": {}}
    for name in cfg.objectives:
        d = saddle.experiment.part(data, name)
        index = np.sum(d["saddle_eigenvalues"] < 0, axis=1)
        entry = {
            "minima": len(d["minima_value"]), "minima_from_search": int(d["n_found_minima"]),
            "saddles": len(d["saddle_value"]), "bands": len(d["pairs"]),
            "rounds": int(d["rounds"]), "candidates": int(d["candidates"]),
            "rejected_candidates": int(d["rejected"]),
            "all_index_1": bool(np.all(index == 1)),
            "all_in_catalogue": bool(np.all(d["in_catalogue"])),
            "catalogued_saddles_found": int(d["catalogue_found"].sum()),
            "catalogued_saddles": len(d["catalogue_found"]),
            "connected": len(d["tree_roots"]) == 1,
            "largest_band_force": float(d["band_force"].max()),
            "minima_list": [{"x": d["minima_x"][i], "value": d["minima_value"][i]}
                            for i in range(len(d["minima_value"]))],
            "saddle_list": [{"x": d["saddle_x"][s], "value": d["saddle_value"][s],
                             "index": int(index[s]), "minima": d["edges"][s],
                             "barrier_from_first": d["barrier"][s, 0],
                             "barrier_from_second": d["barrier"][s, 1],
                             "in_catalogue": bool(d["in_catalogue"][s])}
                            for s in range(len(d["saddle_value"]))],
            "merge_levels": d["tree_value"][len(d["minima_value"]):],
        }
        if name == "muller_brown":
            minima = np.sort(d["minima_value"])
            saddles = np.sort(d["saddle_value"])
            lit_min, lit_sad = (np.sort(MULLER_BROWN[k]) for k in ("minima", "saddles"))
            entry["literature"] = {
                "minima": lit_min, "saddles": lit_sad,
                "match": bool(minima.shape == lit_min.shape and saddles.shape == lit_sad.shape
                              and np.all(np.abs(minima - lit_min) <= LITERATURE_TOL)
                              and np.all(np.abs(saddles - lit_sad) <= LITERATURE_TOL))}
        out["objectives"][name] = entry
    return saddle.experiment.to_jsonable({**verdict(out), **out})


def verdict(s: dict) -> dict:
    """Per landscape: every saddle found is a catalogued index-1 saddle, at least one was
    found, the graph is connected (Müller–Brown: energies as the literature's)."""
    passed, notes = [], []
    for name, e in s["objectives"].items():
        ok = (e["saddles"] > 0 and e["all_index_1"] and e["all_in_catalogue"]
              and e["connected"] and e.get("literature", {}).get("match", True))
        passed.append(ok)
        notes.append(f"{name}: {e['saddles']} saddles ({e['catalogued_saddles_found']}/"
                     f"{e['catalogued_saddles']} catalogued), "
                     f"{'all' if e['all_index_1'] else 'NOT all'} index 1, "
                     f"{'all' if e['all_in_catalogue'] else 'NOT all'} in the catalogue, "
                     f"graph {'connected' if e['connected'] else 'DISCONNECTED'}"
                     + ("" if "literature" not in e else ", literature energies "
                        + ("match" if e["literature"]["match"] else "DIFFER")))
    return saddle.experiment.verdict(passed, "; ".join(notes))


# ----------------------------------------------------------------------------- figure
def plot(cfg: Config, data: dict) -> dict:
    names = list(cfg.objectives)
    fig, axes = splot.figure(len(names), 2, width=9.0, height=3.6 * len(names), squeeze=False,
                             gridspec_kw=dict(width_ratios=[1.2, 1.0]))
    for (a, b), name in zip(axes, names, strict=True):
        obj, d = saddle.objectives.get(name), saddle.experiment.part(data, name)
        splot.contour(a, obj, levels=30, log=True)
        used = np.unique(d["saddle_band"])
        for k in range(len(d["pairs"])):
            style = dict(color="#1f78b4", lw=1.2, alpha=0.9) if k in used else \
                dict(color="#a6cee3", lw=0.6, alpha=0.6)
            a.plot(*d["band_path"][k].T, marker=".", ms=2.5, **style)
        m, s = len(d["minima_x"]), len(d["saddle_x"])
        splot.critical_points(a, np.concatenate([d["minima_x"], d["saddle_x"]]),
                              ["minimum"] * m + ["saddle"] * s, size=40, legend=False)
        for i, x in enumerate(d["minima_x"]):
            a.annotate(str(i), x, xytext=(4, 4), textcoords="offset points", fontsize=8,
                       color="w", weight="bold")
        a.set(xlim=(obj.lower[0], obj.upper[0]), ylim=(obj.lower[1], obj.upper[1]),
              xlabel="x", ylabel="y")
        a.set_title(f"{name}: {m} minima, {s} saddles, {len(d['pairs'])} bands", fontsize=9)
        tree = saddle.landscape.MergeTree(
            value=d["tree_value"], children=d["tree_children"], saddle=d["tree_saddle"],
            roots=tuple(int(r) for r in d["tree_roots"]), n_minima=m)
        draw(b, tree, labels=[str(i) for i in range(m)])
        b.set_title("disconnectivity graph (merge at saddle energies)", fontsize=9)
        b.set_xlabel("minimum")
    fig.suptitle("Minima joined by climbing-image bands (pale: bands whose saddles another "
                 "band found first); contours of log(1 + f − min f)", fontsize=9)
    return {"paths": fig}


if __name__ == "__main__":
    saddle.experiment.main(Config, run, plot, summarize)
