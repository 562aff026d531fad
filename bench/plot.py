#!/usr/bin/env python3
"""plot.py RESULTS.json OUT.png: throughput against size, from hmm_bench."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PANELS = [
    ("read_cold", "cold device read (fault + copy)", "memcpy"),
    ("read_warm", "warm device read (copy)", "memcpy"),
    ("write_cold", "cold device write (fault + copy)", "memcpy"),
    ("snapshot", "snapshot of populated memory", "pagemap"),
]
COLOURS = {"hmm_mirror": "tab:blue", "dmirror": "tab:red",
           "memcpy": "tab:gray", "pagemap": "tab:gray"}


def main():
    src, dst = sys.argv[1], sys.argv[2]
    with open(src) as f:
        data = json.load(f)
    res = data["results"]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    for ax, (case, title, ref) in zip(axes.flat, PANELS):
        lines = [(case, impl, impl, COLOURS[impl]) for impl in ("hmm_mirror", "dmirror", ref)]
        if case == "snapshot":  # SNAPSHOT with HMM_MIRROR_PAGES_RUNS beside it
            lines.append(("snapshot_runs", "hmm_mirror", "hmm_mirror runs", "tab:green"))
        for line_case, impl, label, colour in lines:
            for mode, style in (("4k", "-"), ("thp", "--")):
                pts = sorted((r["bytes"], r["bytes"] / r["median_ns"])
                             for r in res if r["case"] == line_case
                             and r["impl"] == impl and r["mode"] == mode)
                if not pts:
                    continue
                ax.plot([p[0] / 2**20 for p in pts], [p[1] for p in pts],
                        style, marker="o", markersize=3,
                        color=colour, label=f"{label} {mode}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("size (MiB)")
        ax.set_ylabel("GB/s (bytes covered / time)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    m = data["machine"]
    fig.suptitle(f"hmm_mirror vs test_hmm (dmirror) vs CPU, kernel {m['kernel']}, "
                 f"{m['cpus']} vCPUs qemu TCG, median of {m['reps']}", fontsize=10)
    fig.tight_layout()
    fig.savefig(dst, dpi=72)


if __name__ == "__main__":
    main()
