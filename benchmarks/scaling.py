"""Scaling curves: wall time and peak memory of one loop round as the prompts, the model and the vocabulary grow.

A round is what a loop round r >= 2 does before its evaluation: generate replies to the training prompts with the
previous round's model, label them, select, and fine-tune with CRINGE (``--round-steps`` batches) on the task plus
the selection. Each point runs ``benchmarks/loop_stages.py`` in a fresh interpreter (so that its peak memory is its
own), which first trains a short MLE baseline to start from (``--baseline-steps``, not counted in the round).

Grids (defaults): prompts 2k / 8k / 32k (model 2x128, vocabulary 8k); model 2x128 / 4x256 / 8x512 (2k prompts);
vocabulary 4k / 8k / 16k / 32k byte-level BPE symbols (2x128, 2k prompts). Writes ``scaling.json`` and
``scaling.png`` into ``--out-dir`` and prints a table per grid with the fitted growth: the exponent ``b`` of
``time ~ a * x^b`` by least squares on the logs (b = 1: linear), ``x`` being prompts, parameters or vocabulary.

    .venv/bin/python benchmarks/scaling.py --out-dir benchmarks/results           # every grid
    .venv/bin/python benchmarks/scaling.py --grids prompts --prompts 2000 8000
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROUND_STAGES = ("generate", "label", "select", "train CRINGE")


def parameters(size: str, vocab: int) -> int:
    """Parameters of the main job's transformer of ``size`` (``LxD``, FFN 4D) with a ``vocab``-token embedding."""
    layers, dim = (int(x) for x in size.split("x"))
    ffn = 4 * dim
    encoder = layers * (4 * dim * dim + 2 * dim * ffn)  # self-attention, FFN
    decoder = layers * (8 * dim * dim + 2 * dim * ffn)  # self- and cross-attention, FFN
    return encoder + decoder + vocab * dim  # embeddings shared by encoder, decoder and output


def run_point(size: str, vocab: int, prompts: int, args: argparse.Namespace) -> dict[str, Any]:
    """One round at one setting, in a fresh interpreter; its stage rows and the round's totals."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [
            sys.executable, str(HERE / "loop_stages.py"), "--size", size, "--vocab", str(vocab), "--prompts",
            str(prompts), "--baseline-steps", str(args.baseline_steps), "--round-steps", str(args.round_steps),
            "--ppl-examples", "200", "--parlai-generation", "false", "--threads", str(args.threads), "--out", out.name,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        result = json.loads(Path(out.name).read_text())
    stages = {r["stage"]: r for r in result["rows"]}
    round_rows = [stages[s] for s in ROUND_STAGES]
    return {
        "size": size,
        "vocab": vocab,
        "prompts": prompts,
        "parameters": parameters(size, vocab),
        "round_seconds": sum(r["seconds"] for r in round_rows),
        "round_peak_mb": max(r["peak_mb"] for r in round_rows),
        "stages": {s: {k: stages[s][k] for k in ("seconds", "rate", "peak_mb")} for s in stages},
    }


def fit_exponent(xs: list[float], ys: list[float]) -> float:
    """The least-squares slope of log y on log x."""
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


GRID_X = {"prompts": "prompts", "model": "parameters", "vocab": "vocab"}


def table(name: str, points: list[dict[str, Any]]) -> str:
    """A markdown table of one grid, with the fitted exponents of time and memory."""
    lines = [
        f"| {name} | params | round s | generate s | label s | select s | train s | peak MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in points:
        x = {"prompts": p["prompts"], "model": p["size"], "vocab": p["vocab"]}[name]
        s = p["stages"]
        lines.append(
            f"| {x} | {p['parameters'] / 1e6:.1f}M | {p['round_seconds']:.1f} | {s['generate']['seconds']:.1f} | "
            f"{s['label']['seconds']:.2f} | {s['select']['seconds']:.3f} | {s['train CRINGE']['seconds']:.1f} | "
            f"{p['round_peak_mb']:.0f} |"
        )
    if len(points) >= 2:
        xs = [p[GRID_X[name]] for p in points]
        fits = {
            "round time": [p["round_seconds"] for p in points],
            "generate": [p["stages"]["generate"]["seconds"] for p in points],
            "train": [p["stages"]["train CRINGE"]["seconds"] for p in points],
            "peak memory": [p["round_peak_mb"] for p in points],
        }
        growth = ", ".join(f"{what} ~ x^{fit_exponent(xs, ys):.2f}" for what, ys in fits.items())
        lines.append(f"\nfitted growth in {GRID_X[name]} (x): {growth}")
    return "\n".join(lines)


def plot(results: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """One panel per grid: round time (left axis) and peak memory (right axis) against the grid's variable."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grids = [g for g in ("prompts", "model", "vocab") if results.get(g)]
    fig, axes = plt.subplots(1, len(grids), figsize=(5 * len(grids), 4), squeeze=False)
    for ax, name in zip(axes[0], grids):
        points = results[name]
        xs = [p[GRID_X[name]] for p in points]
        ax.plot(xs, [p["round_seconds"] for p in points], "o-", color="tab:blue", label="round time")
        ax.plot(xs, [p["stages"]["generate"]["seconds"] for p in points], "s--", color="tab:cyan", label="generate")
        ax.plot(xs, [p["stages"]["train CRINGE"]["seconds"] for p in points], "^--", color="tab:green", label="train")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.minorticks_off()
        ax.set_xticks(xs, [f"{x / 1e6:.1f}M" if x >= 1e6 else f"{x / 1e3:g}k" for x in xs])
        ax.set_xlabel(
            {"prompts": "training prompts", "model": "parameters", "vocab": "vocabulary (BPE symbols)"}[name]
        )
        ax.set_ylabel("seconds")
        twin = ax.twinx()
        twin.plot(xs, [p["round_peak_mb"] for p in points], "x:", color="tab:red", label="peak memory")
        twin.set_ylabel("peak resident MB", color="tab:red")
        twin.set_ylim(bottom=0)
        ax.set_title(f"one round vs {name}")
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        ax.legend(handles=handles, fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    """Run the grids (or read them back from ``scaling.json``), print the tables, write the plot."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grids", nargs="+", default=["prompts", "model", "vocab"], choices=list(GRID_X))
    parser.add_argument("--prompts", type=int, nargs="+", default=[2000, 8000, 32000])
    parser.add_argument("--sizes", nargs="+", default=["2x128", "4x256", "8x512"])
    parser.add_argument("--vocabs", type=int, nargs="+", default=[4000, 8000, 16000, 32000])
    parser.add_argument(
        "--baseline-steps", type=int, default=100, help="MLE batches of the model the round starts from"
    )
    parser.add_argument("--round-steps", type=int, default=50, help="CRINGE batches of the round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out-dir", type=Path, default=Path("."), help="where scaling.json and scaling.png go")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    saved = args.out_dir / "scaling.json"
    results: dict[str, list[dict[str, Any]]] = json.loads(saved.read_text()) if saved.exists() else {}
    settings = {
        "prompts": [("2x128", 8000, n) for n in args.prompts],
        "model": [(size, 8000, 2000) for size in args.sizes],
        "vocab": [("2x128", v, 2000) for v in args.vocabs],
    }
    for name in args.grids:
        done = {(p["size"], p["vocab"], p["prompts"]): p for p in results.get(name, [])}
        points = []
        for size, vocab, prompts in settings[name]:
            if (size, vocab, prompts) not in done:  # a rerun keeps the points already measured
                print(f"{name}: {size}, vocab {vocab}, {prompts} prompts ...", flush=True)
                done[(size, vocab, prompts)] = run_point(size, vocab, prompts, args)
                results[name] = list(done.values())
                saved.write_text(json.dumps(results, indent=1))
            points.append(done[(size, vocab, prompts)])
        results[name] = points
        print(table(name, points) + "\n")
    saved.write_text(json.dumps(results, indent=1))
    plot(results, args.out_dir / "scaling.png")
    print(f"wrote {saved} and {args.out_dir / 'scaling.png'}")


if __name__ == "__main__":
    main()
