"""Benchmark: forward+backward time of ``cringe_loss`` over ``F.cross_entropy``, side by side in one run.

Half of the target tokens belong to negative sequences (the contrastive path), half to positive ones; k = 5.
Prints the median of several repeats after warm-up, and the ratio. Target: ratio <= 1.3.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from cringe_agent.loss import cringe_loss


def _time(fn, repeats: int) -> float:
    for _ in range(2):  # warm-up
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--neg-share", type=float, default=0.5)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, neg share {args.neg_share}, k 5")
    print(f"{'N':>6} {'V':>7} {'CE ms':>9} {'CRINGE ms':>10} {'ratio':>6}")
    for n, v in [(4096, 8192), (4096, 50000)]:
        gen = torch.Generator().manual_seed(0)
        logits = torch.randn(n, v, generator=gen, requires_grad=True)
        targets = torch.randint(v, (n,), generator=gen)
        feedback = (torch.rand(n, generator=gen) >= args.neg_share).long()

        def ce_step(logits=logits, targets=targets) -> None:
            logits.grad = None
            F.cross_entropy(logits, targets).backward()

        def cringe_step(logits=logits, targets=targets, feedback=feedback, gen=gen) -> None:
            logits.grad = None
            cringe_loss(logits, targets, feedback, k=5, generator=gen).mean().backward()

        t_ce, t_cr = _time(ce_step, args.repeats), _time(cringe_step, args.repeats)
        print(f"{n:>6} {v:>7} {t_ce * 1e3:>9.1f} {t_cr * 1e3:>10.1f} {t_cr / t_ce:>6.2f}")


if __name__ == "__main__":
    main()
