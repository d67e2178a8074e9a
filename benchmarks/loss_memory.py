"""Benchmark: peak memory of the CRINGE loss's forward+backward over ``F.cross_entropy`` on the same logits.

Float32 ``(N, V)`` logits, half the tokens negative, k = 5. The unit is one ``(N, V)`` float32 buffer
(``4 * N * V`` bytes). The number reported is the peak memory during forward+backward above the memory held just
before it (the logits themselves excluded, their gradient included: one buffer that any loss needs). Target: CRINGE
at most one buffer above cross-entropy.

On CPU each (case, loss) runs in a fresh subprocess, and the peak is the process's peak resident set
(``ru_maxrss``) minus its resident set before the loss; torch's large buffers are ``mmap``-ed and given back on
free, so the resident set follows them. With a CUDA GPU (``--device cuda``) it is
``torch.cuda.max_memory_allocated`` in one process. A case whose estimated need (logits plus four buffers) exceeds
the available memory is skipped and said so.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

import psutil
import torch
import torch.nn.functional as F

from cringe_agent.loss import cringe_loss

CASES = ["4096x50000", "16384x128000", "8192x64000"]


def _inputs(n: int, v: int, device: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator(device=device).manual_seed(0)
    logits = torch.randn(n, v, generator=gen, device=device).requires_grad_()
    targets = torch.randint(v, (n,), generator=gen, device=device)
    feedback = (torch.rand(n, generator=gen, device=device) >= 0.5).long()
    return logits, targets, feedback


def _step(loss: str, logits: torch.Tensor, targets: torch.Tensor, feedback: torch.Tensor) -> None:
    if loss == "ce":
        F.cross_entropy(logits, targets).backward()
    else:
        cringe_loss(logits, targets, feedback, k=5).mean().backward()


def measure(loss: str, n: int, v: int, device: str) -> int:
    """Peak bytes of one forward+backward above the memory held before it, in this process.

    Args:
        loss: ``ce`` or ``cringe``.
        n: Rows (target tokens).
        v: Vocabulary size.
        device: ``cpu`` or ``cuda``.
    """
    _step(loss, *_inputs(8, 16, device))  # warm-up: libraries and thread pools allocated before the baseline
    logits, targets, feedback = _inputs(n, v, device)
    if device == "cuda":
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        _step(loss, logits, targets, feedback)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - before
    before = psutil.Process().memory_info().rss
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    _step(loss, logits, targets, feedback)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if peak <= peak_before:
        raise RuntimeError("the peak came before the loss (creating the inputs): the measurement is not valid")
    return peak - before


def _child(loss: str, n: int, v: int, threads: int) -> int:
    """Run :func:`measure` on CPU in a fresh interpreter; return its bytes."""
    cmd = [sys.executable, __file__, "--child", loss, str(n), str(v), "--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return int(json.loads(out.strip().splitlines()[-1])["bytes"])


def main() -> None:
    """Parse the flags; run each case (or, with ``--child``, one measurement) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=CASES, help="NxV cases, e.g. 4096x50000")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--child", nargs=3, metavar=("LOSS", "N", "V"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        loss, n, v = args.child[0], int(args.child[1]), int(args.child[2])
        print(json.dumps({"bytes": measure(loss, n, v, "cpu")}))
        return

    print(f"torch {torch.__version__}, device {args.device}, float32, half the tokens negative, k 5")
    print("peak memory of forward+backward above the held logits, in (N, V) float32 buffers (the gradient included)")
    print(f"{'N':>6} {'V':>7} {'buffer GB':>9} {'CE':>6} {'CRINGE':>7} {'extra':>6}")
    for case in args.cases:
        n, v = (int(x) for x in case.lower().split("x"))
        unit = 4 * n * v
        if args.device == "cuda":
            free = torch.cuda.mem_get_info()[0]
        else:
            free = psutil.virtual_memory().available
        if 5 * unit > 0.9 * free:
            need, have = 5 * unit / 1e9, free / 1e9
            print(f"{n:>6} {v:>7} {unit / 1e9:>9.2f}  skipped: needs about {need:.0f} GB, {have:.0f} GB available")
            continue
        if args.device == "cuda":
            ce, cr = measure("ce", n, v, "cuda"), measure("cringe", n, v, "cuda")
        else:
            ce, cr = _child("ce", n, v, args.threads), _child("cringe", n, v, args.threads)
        print(f"{n:>6} {v:>7} {unit / 1e9:>9.2f} {ce / unit:>6.2f} {cr / unit:>7.2f} {(cr - ce) / unit:>+6.2f}")


if __name__ == "__main__":
    main()
