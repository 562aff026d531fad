#!/usr/bin/env python3
"""report.py: the targets of make bench, judged from the data.

  report.py RESULTS.json            the targets section of the report: each
                                    target of bench/targets.json MET or MISSED
  report.py --json RESULTS.json     the same verdicts as JSON
  report.py --readme README.md      rewrite the generated blocks of
                                    bench/README.md from bench/targets.json
                                    and bench/results/*.json
  report.py --check-readme README.md   exit 1 when those blocks are stale
  report.py --publish RESULTS.json --readme README.md
                                    keep a run as bench/results/DATE-KERNEL.json
                                                    (make bench-publish; a second run of
                                    that day: DATE-KERNEL-HHMMSS.json), then
                                    rewrite them

--targets FILE and --results DIR pick other data files.

A RESULTS.json is what hmm_bench writes (--json): "results" holds every
timed figure with its runs ("runs_ns"; munmap contenders also
"even_runs": the first even_runs runs were timed on even steps, the rest
on odd ones), "figures" the untimed ones.  Every value here is computed
from the runs, not from the rounded medians.
"""
import argparse
import json
import re
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = HERE / "targets.json"
RESULTS_DIR = HERE / "results"
MODES = ("4k", "thp")
BOOTSTRAP_ROUNDS = 2000
BOOTSTRAP_SEED = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1


def median(v):
    s = sorted(v)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def size_str(nbytes):
    gib, mib = 1 << 30, 1 << 20
    if nbytes >= gib and nbytes % gib == 0:
        return "%dG" % (nbytes // gib)
    return "%dM" % (nbytes // mib)


def size_bytes(text):
    return int(text[:-1]) << (30 if text[-1] == "G" else 20)


class Run:
    """One results JSON of hmm_bench."""

    def __init__(self, data, name=""):
        self.data = data
        self.name = name
        self.machine = data.get("machine", {})
        self.figures = data.get("figures", {})
        self.results = {}
        for r in data.get("results", []):
            self.results[(r["case"], r["mode"], r["impl"], r["bytes"])] = r

    @classmethod
    def load(cls, path):
        with open(path) as f:
            return cls(json.load(f), Path(path).name)

    @property
    def kernel(self):
        return self.machine.get("kernel", "?")

    @property
    def series(self):
        m = re.match(r"(\d+)\.(\d+)", self.kernel)
        return (int(m.group(1)), int(m.group(2))) if m else (0, 0)

    @property
    def date(self):
        if self.machine.get("date"):
            return self.machine["date"][:10]
        m = re.match(r"(\d{4}-\d\d-\d\d)", self.name)
        return m.group(1) if m else ""

    def result(self, case, mode, impl, nbytes):
        return self.results.get((case, mode, impl, nbytes))

    def sizes(self, case, mode, impl="hmm_mirror"):
        return sorted(b for (c, m, i, b) in self.results
                      if c == case and m == mode and i == impl)

    def figure_sizes(self, template, mode):
        pattern = re.escape(template).replace(r"\{mode\}", re.escape(mode))
        pattern = pattern.replace(r"\{size\}", r"(\d+[MG])")
        return sorted(size_bytes(m.group(1)) for k in self.figures
                      for m in [re.fullmatch(pattern, k)] if m)

    def figure(self, key):
        return self.figures.get(key)


def value_ns(r):
    """A result's figure: the median of its runs, or for runs taken on even
    and odd steps the mean of the two medians (as hmm_bench takes it)."""
    runs = r["runs_ns"]
    if "even_runs" in r:
        even = r["even_runs"]
        return (median(runs[:even]) + median(runs[even:])) / 2
    return median(runs)


def xorshift(state):
    state ^= (state << 13) & MASK64
    state ^= state >> 7
    state ^= (state << 17) & MASK64
    return state


def resampled(r, state):
    """r's figure from its even and odd runs each drawn again with
    replacement; returns (figure, state)."""
    runs, even = r["runs_ns"], r["even_runs"]
    fig = 0.0
    for part in (runs[:even], runs[even:]):
        n = len(part)
        draw = []
        for _ in range(n):
            state = xorshift(state)
            draw.append(part[state % n])
        fig += median(draw) / 2
    return fig, state


def interval95(a, b):
    """The 95% bootstrap interval of a's figure over b's: 2000 rounds, a
    fixed seed, so the same runs give the same interval."""
    state = BOOTSTRAP_SEED
    ratios = []
    for _ in range(BOOTSTRAP_ROUNDS):
        fa, state = resampled(a, state)
        fb, state = resampled(b, state)
        ratios.append(fa / fb)
    ratios.sort()
    k = BOOTSTRAP_ROUNDS // 40
    return ratios[k], ratios[BOOTSTRAP_ROUNDS - 1 - k]


def load_targets(path=TARGETS):
    with open(path) as f:
        return json.load(f)["targets"]


def check_target(t):
    """Problems with one entry of targets.json, as a list of strings."""
    problems = []
    if not isinstance(t.get("target"), str) or not t.get("target"):
        problems.append("no target label")
    if ("ratio" in t) == ("figure" in t):
        problems.append("needs exactly one of ratio, figure")
    if "ratio" in t and (not isinstance(t["ratio"], list) or len(t["ratio"]) != 3):
        problems.append("ratio is [case, A, B]")
    if ("at_least" in t) == ("at_most" in t):
        problems.append("needs exactly one of at_least, at_most")
    if not t.get("modes") or any(m not in MODES for m in t["modes"]):
        problems.append("modes are 4k, thp")
    if t.get("at") not in ("largest", "smallest"):
        problems.append("at is largest or smallest")
    if not t.get("why"):
        problems.append("no why")
    return problems


def pick_size(sizes, at):
    if not sizes:
        return None
    if at == "largest":
        return sizes[-1]
    return sizes[0] if len(sizes) > 1 else None


def judge(run, targets):
    """Every target the run measured, mode by mode in the order of
    MODES, then of targets.json: a list of verdict dicts."""
    verdicts = []
    for mode in MODES:
        for t in targets:
            if mode not in t["modes"]:
                continue
            at_least = "at_least" in t
            limit = t["at_least"] if at_least else t["at_most"]
            v = {"target": t["target"], "mode": mode, "limit": limit,
                 "at_least": at_least, "interval95": None}
            if "ratio" in t:
                case, a_impl, b_impl = t["ratio"]
                nbytes = pick_size(run.sizes(case, mode), t["at"])
                a = b = None
                if nbytes is not None:
                    a = run.result(case, mode, a_impl, nbytes)
                    b = run.result(case, mode, b_impl, nbytes)
                if a is None or b is None:
                    continue
                v["value"] = value_ns(a) / value_ns(b)
                if "even_runs" in a and "even_runs" in b:
                    v["interval95"] = interval95(a, b)
            else:
                nbytes = pick_size(run.figure_sizes(t["figure"], mode), t["at"])
                if nbytes is None:
                    continue
                v["value"] = run.figure(t["figure"].format(mode=mode,
                                                           size=size_str(nbytes)))
            v["at"] = "%s %s" % (mode, size_str(nbytes))
            v["bytes"] = nbytes
            val = v["value"]
            v["met"] = val is not None and (val >= limit if at_least else val <= limit)
            lo_hi = v["interval95"]
            crosses = lo_hi is not None and (lo_hi[0] < limit if at_least
                                             else lo_hi[1] > limit)
            v["verdict"] = ("MISSED" if not v["met"] else
                            "MET, 95% interval crosses the limit" if crosses
                            else "MET")
            verdicts.append(v)
    return verdicts


def munmap_aa(run):
    """How finely the run resolves a munmap ratio (A/A): the plain munmap of
    the second phase over that of the first, at the largest size, by mode."""
    out = []
    for mode in MODES:
        sizes = run.sizes("munmap_mirrored", mode, "plain")
        if not sizes:
            continue
        near = run.result("munmap_mirrored", mode, "plain", sizes[-1])
        far = run.result("munmap_unrelated", mode, "plain", sizes[-1])
        if near and far:
            out.append((mode, value_ns(far) / value_ns(near)))
    return out


def targets_text(run, targets):
    lines = ["", "targets (bench/targets.json; at the largest size of the run unless the size says otherwise)"]
    for v in judge(run, targets):
        value = "%8.3f" % v["value"] if v["value"] is not None else "%8s" % "n/a"
        line = "  %-34s %-9s %s  " % (v["target"], v["at"], value)
        if v["interval95"]:
            line += "(95%%: %.3f to %.3f)  " % tuple(v["interval95"])
        lines.append(line + v["verdict"])
    aa = munmap_aa(run)
    if aa:
        lines.append("  resolution of the munmap ratios (A/A: plain munmap of phase 2 / phase 1):"
                     + "".join(" %s %.3f" % m for m in aa))
    return "\n".join(lines) + "\n"


# ---- bench/README.md ---------------------------------------------------------

def run_order(run):
    """Newer runs sort later: by day, then by the time hmm_bench took (a
    run without one first), then by name."""
    return (run.date, run.machine.get("date", ""), run.name)


def publish_path(run, results_dir):
    """results/DATE-KERNEL.json; a second run of that day and kernel is
    DATE-KERNEL-HHMMSS.json, by the time hmm_bench took."""
    stamp = run.machine.get("date", "")
    date = stamp[:10] or time.strftime("%Y-%m-%d")
    dest = Path(results_dir) / ("%s-%s.json" % (date, run.kernel))
    if dest.exists() and len(stamp) >= 19:
        other = Run.load(dest)
        if other.machine.get("date", "") != stamp:
            dest = dest.with_name("%s-%s-%s.json" % (date, run.kernel,
                                                     stamp[11:19].replace(":", "")))
    return dest


def latest_runs(results_dir=RESULTS_DIR):
    """The newest published run of each kernel series, newest series first."""
    best = {}
    for path in sorted(Path(results_dir).glob("*.json")):
        run = Run.load(path)
        if run.series not in best or run_order(run) > run_order(best[run.series]):
            best[run.series] = run
    return [best[s] for s in sorted(best, reverse=True)]


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def run_header(run):
    return "[%s](results/%s), %s" % (run.kernel, run.name, run.date)


def targets_block(targets):
    rows = []
    for t in targets:
        if "ratio" in t:
            case, a, b = t["ratio"]
            how = "`%s`: %s / %s (median times)" % (case, a, b)
        else:
            how = "`%s`" % t["figure"]
        rows.append([t["target"], ", ".join(t["modes"]), t["at"], how, t["why"]])
    return md_table(["target", "pages", "size", "measured as", "what it stands for"], rows)


def verdicts_block(runs, targets):
    # rows: the targets of the first run, in its order; the others by label,
    # mode and position among the same label and mode
    def keyed(run):
        seen, out = {}, {}
        for v in judge(run, targets):
            k = (v["target"], v["mode"])
            seen[k] = seen.get(k, 0) + 1
            out[k + (seen[k],)] = v
        return out
    judged = [keyed(run) for run in runs]
    keys = []
    for j in judged:
        keys += [k for k in j if k not in keys]
    rows = []
    for k in keys:
        cells = []
        for j in judged:
            v = j.get(k)
            if v is None:
                cells.append("")
                continue
            size = v["at"].split()[1]
            cell = "%s: %.3f" % (size, v["value"]) if v["value"] is not None else "%s: n/a" % size
            if v["interval95"]:
                cell += " (%.3f to %.3f)" % tuple(v["interval95"])
            verdict = v["verdict"].replace("MET, 95% interval crosses the limit",
                                           "MET, interval crosses")
            cells.append(cell + " **%s**" % verdict if verdict == "MISSED" else cell + " " + verdict)
        rows.append(["%s, %s" % (k[0], k[1])] + cells)
    return md_table(["target"] + [run_header(r) for r in runs], rows)


def figure_rows(runs):
    """The compact table of figures: (label, [cell per run])."""
    def at_largest(run, case, mode):
        sizes = run.sizes(case, mode)
        return sizes[-1] if sizes else None

    def figure(case, ref, text):
        """A cell of @case at the run's largest size: hmm_mirror's, dmirror's
        and @ref's times (ns) formatted by @text(size, th, td, tc)."""
        def cell(run, mode):
            n = at_largest(run, case, mode)
            h = n and run.result(case, mode, "hmm_mirror", n)
            d = n and run.result(case, mode, "dmirror", n)
            c = n and run.result(case, mode, ref, n)
            if not (h and d and c):
                return ""
            return text(n, value_ns(h), value_ns(d), value_ns(c))
        return cell

    def speed(case, ref):
        return figure(case, ref, lambda n, th, td, tc: "%s: %.2f GB/s, %.2fx, %.2fx" % (
            size_str(n), n / th, td / th, tc / th))

    def gib_speed(case, ref):
        """GiB/s (the migrate rows: the issue asks for GiB/s), x dmirror, x @ref."""
        return figure(case, ref, lambda n, th, td, tc: "%s: %.2f GiB/s, %.2fx, %.2fx" % (
            size_str(n), n / th * 1e9 / (1 << 30), td / th, tc / th))

    def cost(case, ref):
        return figure(case, ref, lambda n, th, td, tc: "%s: %.3f ms, %.3fx, %.3fx" % (
            size_str(n), th / 1e6, th / td, th / tc))

    def fault_part(run, mode):
        n = at_largest(run, "fault_only", mode)
        f = n and run.result("fault_only", mode, "hmm_mirror", n)
        c = n and run.result("read_cold", mode, "hmm_mirror", n)
        if not (f and c):
            return ""
        return "%s: %.2f of %.2f ms" % (size_str(n), value_ns(f) / 1e6, value_ns(c) / 1e6)

    def one_walker(run, mode):
        n = at_largest(run, "snapshot", mode)
        h = n and run.result("snapshot", mode, "hmm_mirror", n)
        o = n and run.result("snapshot", mode, "hm_1walker", n)
        d = n and run.result("snapshot", mode, "dmirror", n)
        if not (h and o and d):
            return ""
        return "%s: %.2fx, %.2fx" % (size_str(n), value_ns(o) / value_ns(h),
                                     value_ns(d) / value_ns(o))

    def aa(run, mode):
        return "".join("%.3f" % x for m, x in munmap_aa(run) if m == mode)

    rows = []
    per_mode = [
        ("cold read: GB/s, x dmirror, x memcpy", speed("read_cold", "memcpy")),
        ("warm read", speed("read_warm", "memcpy")),
        ("cold write", speed("write_cold", "memcpy")),
        ("FAULT part of a cold read", fault_part),
        ("snapshot: GB/s, x dmirror, x pagemap", speed("snapshot", "pagemap")),
        ("snapshot runs", speed("snapshot_runs", "pagemap")),
        ("snapshot: 2 walkers over 1, 1 walker x dmirror", one_walker),
        ("munmap mirrored: ms, / dmirror, / plain", cost("munmap_mirrored", "plain")),
        ("munmap unrelated", cost("munmap_unrelated", "plain")),
        ("munmap A/A: plain of phase 2 / phase 1", aa),
        ("migrate to device: GiB/s, x dmirror, x memcpy", gib_speed("migrate_to_dev", "memcpy")),
        ("migrate back", gib_speed("migrate_to_sys", "memcpy")),
        ("READ of device memory: GiB/s, x dmirror, x READ of system memory",
         gib_speed("read_devmem", "hm_sysmem")),
    ]
    for mode in MODES:
        for label, cell in per_mode:
            rows.append(("%s, %s" % (mode, label), [cell(r, mode) for r in runs]))

    def fig(run, key, fmt):
        v = run.figure(key)
        return fmt % v if v is not None else "n/a"

    kinds = ("madvise", "munmap", "munmap_keepchunk", "eventfd")
    rows.append(("event latency, median / p99 us: MADV_DONTNEED, munmap, munmap with the chunk kept, eventfd (reference)",
                 [", ".join(fig(r, "latency.%s.median_us" % k, "%.1f") + " / " +
                            fig(r, "latency.%s.p99_us" % k, "%.1f") for k in kinds)
                  if r.figure("latency.munmap.median_us") is not None else ""
                  for r in runs]))
    cells = []
    for r in runs:
        parts = []
        for mode in MODES:
            sizes = r.figure_sizes("dpt_bytes_per_page.{mode}.{size}.hmm_mirror", mode)
            if sizes:
                sz = size_str(sizes[-1])
                parts.append("%s %s: %s, %s" % (
                    mode, sz, fig(r, "dpt_bytes_per_page.%s.%s.hmm_mirror" % (mode, sz), "%.3f"),
                    fig(r, "dpt_bytes_per_page.%s.%s.dmirror_estimate" % (mode, sz), "%.3f")))
        cells.append("; ".join(parts))
    rows.append(("page-table bytes per page: hmm_mirror, dmirror estimate", cells))
    rows.append(("2 threads / 1: FAULT, dmirror READ, CPU faults",
                 [", ".join(fig(r, "scaling_2v1.%s" % k, "%.2fx")
                            for k in ("hmm_mirror", "dmirror", "cpu_touch"))
                  if r.figure("scaling_2v1.hmm_mirror") is not None else ""
                  for r in runs]))
    fb = ("hmm_mirror", "dmirror", "first_touch")
    rows.append(("CPU fault-back from device memory, median / p99 us: hmm_mirror, dmirror, first touch of fresh memory (reference)",
                 [", ".join(fig(r, "faultback.%s.median_us" % k, "%.1f") + " / " +
                            fig(r, "faultback.%s.p99_us" % k, "%.1f") for k in fb)
                  if r.figure("faultback.hmm_mirror.median_us") is not None else ""
                  for r in runs]))
    notes = ["; ".join("%s: %s" % (c, t) for c, t in sorted(r.data.get("notes", {}).items()))
             for r in runs]
    if any(notes):
        rows.append(("notes of the run (cases skipped or cut short)", notes))
    rows.append(("time in the VM", ["%.0f s" % r.machine["elapsed_s"]
                                    if "elapsed_s" in r.machine else "" for r in runs]))
    return rows


def figures_block(runs):
    return md_table(["figure (largest size of the run)"] + [run_header(r) for r in runs],
                    [[label] + cells for label, cells in figure_rows(runs)])


BLOCK = re.compile(r"(<!-- begin generated: report\.py (\w+) -->\n).*?(<!-- end generated -->)",
                   re.S)


def render_readme(text, targets, runs):
    blocks = {
        "targets": targets_block(targets),
        "verdicts": verdicts_block(runs, targets) if runs else "(no published run)",
        "figures": figures_block(runs) if runs else "(no published run)",
    }

    def sub(m):
        if m.group(2) not in blocks:
            raise SystemExit("report.py: unknown block %s" % m.group(2))
        return m.group(1) + blocks[m.group(2)] + "\n" + m.group(3)
    return BLOCK.sub(sub, text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", nargs="?", help="a results JSON of hmm_bench")
    ap.add_argument("--targets", default=TARGETS)
    ap.add_argument("--results-dir", default=RESULTS_DIR)
    ap.add_argument("--json", action="store_true", help="verdicts as JSON")
    ap.add_argument("--readme", metavar="README", help="rewrite its generated blocks")
    ap.add_argument("--check-readme", metavar="README", help="exit 1 when they are stale")
    ap.add_argument("--publish", action="store_true",
                    help="keep RESULTS.json as results/DATE-KERNEL.json (then --readme)")
    args = ap.parse_args(argv)
    targets = load_targets(args.targets)
    for t in targets:
        for p in check_target(t):
            raise SystemExit("report.py: %s: %s: %s" % (args.targets, t.get("target"), p))
    if args.publish:
        if not args.results:
            ap.error("--publish needs a results JSON")
        run = Run.load(args.results)
        dest = publish_path(run, args.results_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists() and dest.read_bytes() != Path(args.results).read_bytes():
            raise SystemExit("report.py: %s exists (another run of that day and kernel): "
                             "remove it first to replace it" % dest)
        shutil.copyfile(args.results, dest)
        print("report.py: published %s" % dest)
    if args.readme or args.check_readme:
        path = Path(args.readme or args.check_readme)
        text = path.read_text()
        new = render_readme(text, targets, latest_runs(args.results_dir))
        if args.readme:
            path.write_text(new)
            return 0
        if new != text:
            print("report.py: the generated blocks of %s are stale: run bench/report.py --readme %s"
                  % (path, path), file=sys.stderr)
            return 1
        return 0
    if not args.results:
        ap.error("a results JSON is needed")
    run = Run.load(args.results)
    if args.json:
        json.dump(judge(run, targets), sys.stdout, indent=1)
        print()
    else:
        sys.stdout.write(targets_text(run, targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
