#!/usr/bin/env python3
"""test_report.py [COUNTS]: bench/report.py against its data (make
bench-report-test, part of make test).  Writes "passed failed skipped" to
COUNTS.

- bench/targets.json is well formed;
- the verdicts follow the limits (synthetic runs: met, missed, an interval
  across the limit, a figure that could not be measured, a mode or a size
  the run does not have);
- every published run that still carries the verdicts hmm_bench computed
  itself (before they moved to report.py) gets the same values, 95%
  intervals and verdicts from report.py, and the same A/A figure;
- the generated blocks of bench/README.md are those of bench/targets.json
  and bench/results/.
"""
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import report  # noqa: E402

MIB = 1 << 20


def result(case, mode, impl, nbytes, runs, even=None):
    r = {"case": case, "mode": mode, "impl": impl, "bytes": nbytes,
         "runs_ns": runs}
    if even is not None:
        r["even_runs"] = even
    return r


def run_of(results, figures=None):
    return report.Run({"machine": {"kernel": "7.3.4-hmm"}, "results": results,
                       "figures": figures or {}})


TARGETS = [
    {"target": "fast", "modes": ["4k"], "at": "largest",
     "ratio": ["read_cold", "dmirror", "hmm_mirror"], "at_least": 2, "why": "x"},
    {"target": "cheap", "modes": ["4k", "thp"], "at": "smallest",
     "ratio": ["munmap_mirrored", "hmm_mirror", "plain"], "at_most": 1.2, "why": "x"},
    {"target": "small", "modes": ["4k", "thp"], "at": "largest",
     "figure": "dpt.{mode}.{size}", "at_most": 8.5, "why": "x"},
]


class TargetsFile(unittest.TestCase):
    def test_well_formed(self):
        targets = report.load_targets()
        self.assertTrue(targets)
        for t in targets:
            self.assertEqual(report.check_target(t), [], t.get("target"))

    def test_checker_finds_problems(self):
        self.assertIn("needs exactly one of at_least, at_most",
                      report.check_target({**TARGETS[0], "at_most": 1}))
        self.assertIn("modes are 4k, thp",
                      report.check_target({**TARGETS[0], "modes": ["2m"]}))


class Verdicts(unittest.TestCase):
    def judge(self, run):
        return {(v["target"], v["at"]): v for v in report.judge(run, TARGETS)}

    def test_speed_at_the_largest_size(self):
        v = self.judge(run_of([
            result("read_cold", "4k", "hmm_mirror", MIB, [100, 100, 100]),
            result("read_cold", "4k", "dmirror", MIB, [150, 150, 150]),
            result("read_cold", "4k", "hmm_mirror", 4 * MIB, [100, 90, 110]),
            result("read_cold", "4k", "dmirror", 4 * MIB, [250, 210, 205]),
        ]))
        self.assertEqual(list(v), [("fast", "4k 4M")])
        self.assertAlmostEqual(v[("fast", "4k 4M")]["value"], 2.1)
        self.assertEqual(v[("fast", "4k 4M")]["verdict"], "MET")

    def test_missed(self):
        v = self.judge(run_of([
            result("read_cold", "4k", "hmm_mirror", MIB, [100, 100]),
            result("read_cold", "4k", "dmirror", MIB, [150, 190]),
        ]))
        self.assertAlmostEqual(v[("fast", "4k 1M")]["value"], 1.7)
        self.assertFalse(v[("fast", "4k 1M")]["met"])
        self.assertEqual(v[("fast", "4k 1M")]["verdict"], "MISSED")

    def munmap(self, hm_runs, plain_runs):
        return [
            result("munmap_mirrored", "4k", "hmm_mirror", MIB, hm_runs, len(hm_runs) // 2),
            result("munmap_mirrored", "4k", "plain", MIB, plain_runs, len(plain_runs) // 2),
            result("munmap_mirrored", "4k", "hmm_mirror", 4 * MIB, [1] * 4, 2),
            result("munmap_mirrored", "4k", "plain", 4 * MIB, [1] * 4, 2),
        ]

    def test_stepped_figure_and_interval(self):
        # even steps 100 (hm) vs 100 (plain), odd steps 120 vs 100: 1.1x
        v = self.judge(run_of(self.munmap([100] * 6 + [120] * 6, [100] * 12)))
        t = v[("cheap", "4k 1M")]
        self.assertAlmostEqual(t["value"], 1.1)
        self.assertEqual(t["interval95"], (1.1, 1.1))
        self.assertEqual(t["verdict"], "MET")

    def test_interval_across_the_limit(self):
        hm = [90, 150, 95, 140, 100, 100, 100, 160, 90, 100, 150, 100]
        v = self.judge(run_of(self.munmap(hm, [100] * 12)))
        t = v[("cheap", "4k 1M")]
        self.assertLessEqual(t["value"], 1.2)
        self.assertGreater(t["interval95"][1], 1.2)
        self.assertEqual(t["verdict"], "MET, 95% interval crosses the limit")
        # the same runs, the same interval
        self.assertEqual(report.judge(run_of(self.munmap(hm, [100] * 12)), TARGETS)[0]
                         ["interval95"], t["interval95"])

    def test_smallest_needs_two_sizes(self):
        v = self.judge(run_of(self.munmap([100] * 4, [100] * 4)[:2]))
        self.assertNotIn(("cheap", "4k 1M"), v)

    def test_figures_and_modes(self):
        v = self.judge(run_of([], {"dpt.4k.64M": 8.75, "dpt.4k.1G": 8.047,
                                   "dpt.thp.1G": None}))
        self.assertEqual(v[("small", "4k 1G")]["verdict"], "MET")
        self.assertIsNone(v[("small", "thp 1G")]["value"])
        self.assertEqual(v[("small", "thp 1G")]["verdict"], "MISSED")
        self.assertIn("n/a", report.targets_text(
            run_of([], {"dpt.thp.1G": None}), TARGETS))


class PublishedRuns(unittest.TestCase):
    def test_same_verdicts_as_hmm_bench(self):
        runs = [p for p in sorted(report.RESULTS_DIR.glob("*.json"))
                if "targets" in report.Run.load(p).data]
        if not runs:
            self.skipTest("no published run carries hmm_bench's own verdicts")
        for path in runs:
            run = report.Run.load(path)
            ours = {(v["target"], v["at"]): v
                    for v in report.judge(run, report.load_targets())}
            theirs = {(t["target"], t["at"]): t for t in run.data["targets"]}
            self.assertEqual(sorted(ours), sorted(theirs), path.name)
            for key, t in theirs.items():
                v = ours[key]
                self.assertAlmostEqual(v["value"] / t["value"], 1, places=5,
                                       msg="%s %s" % (path.name, key))
                self.assertEqual(v["limit"], t["limit"])
                self.assertEqual(v["met"], t["met"], key)
                if "interval95" in t:
                    for a, b in zip(v["interval95"], t["interval95"]):
                        self.assertAlmostEqual(a / b, 1, places=5, msg=str(key))
                else:
                    self.assertIsNone(v["interval95"])


    def test_same_resolution_as_hmm_bench(self):
        checked = 0
        for path in sorted(report.RESULTS_DIR.glob("*.json")):
            run = report.Run.load(path)
            for mode, aa in report.munmap_aa(run):
                size = report.size_str(run.sizes("munmap_mirrored", mode, "plain")[-1])
                theirs = run.figure("munmap_aa.%s.%s" % (mode, size))
                if theirs is not None:
                    self.assertAlmostEqual(aa / theirs, 1, places=5, msg=path.name)
                    checked += 1
        if not checked:
            self.skipTest("no published run carries hmm_bench's munmap_aa figures")


class DeviceMemoryRows(unittest.TestCase):
    """The migrate and faultback rows of the figures table, and the notes
    of a run that skipped them."""

    def rows(self, run):
        return dict(report.figure_rows([run]))

    def test_migrate_in_gib_per_second(self):
        gib = 1 << 30
        run = run_of([
            # 1 GiB in 0.5 s: 2 GiB/s; dmirror's 1.5 s: 3x; memcpy's 0.25 s: 0.5x
            result("migrate_to_dev", "4k", "hmm_mirror", gib, [5e8, 4e8, 6e8]),
            result("migrate_to_dev", "4k", "dmirror", gib, [1.5e9] * 3),
            result("migrate_to_dev", "4k", "memcpy", gib, [2.5e8] * 3),
        ])
        self.assertEqual(self.rows(run)["4k, migrate to device: GiB/s, x dmirror, x memcpy"],
                         ["1G: 2.00 GiB/s, 3.00x, 0.50x"])
        self.assertEqual(self.rows(run)["4k, migrate back"], [""])
        v = {(t["target"], t["at"]): t for t in report.judge(run, report.load_targets())}
        self.assertEqual(v[("migrate to device >= 2x dmirror", "4k 1G")]["verdict"], "MET")
        self.assertEqual(v[("migrate to device >= 0.5x memcpy", "4k 1G")]["verdict"], "MET")
        self.assertNotIn(("migrate back >= 2x dmirror", "4k 1G"), v)

    def test_faultback_and_notes(self):
        figs = {"faultback.%s.%s" % (k, q): x for k, base in
                (("hmm_mirror", 10), ("dmirror", 20), ("first_touch", 5))
                for q, x in (("median_us", base), ("p99_us", base * 10))}
        rows = self.rows(run_of([], figs))
        label = [k for k in rows if k.startswith("CPU fault-back")][0]
        self.assertEqual(rows[label], ["10.0 / 100.0, 20.0 / 200.0, 5.0 / 50.0"])
        self.assertNotIn("notes of the run (cases skipped or cut short)", rows)
        skipped = report.Run({"machine": {"kernel": "6.1.192-hmm"}, "results": [],
                              "figures": {}, "notes": {"migrate": "skipped: no device memory"}})
        rows = self.rows(skipped)
        self.assertEqual(rows[label], [""])
        self.assertEqual(rows["notes of the run (cases skipped or cut short)"],
                         ["migrate: skipped: no device memory"])
        self.assertEqual(report.judge(skipped, report.load_targets()), [])


class Publish(unittest.TestCase):
    def test_second_run_of_a_day(self):
        import json
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            def write(name, machine):
                path = Path(d) / name
                path.write_text(json.dumps({"machine": machine, "results": [], "figures": {}}))
                return path
            # a published run without a time, as the first 7.3 run was
            write("2026-12-07-7.3.4-hmm.json", {"kernel": "7.3.4-hmm"})
            new = report.Run.load(write("new.json", {"kernel": "7.3.4-hmm",
                                                     "date": "2026-12-07T13:40:13Z"}))
            dest = report.publish_path(new, d)
            self.assertEqual(dest.name, "2026-12-07-7.3.4-hmm-134013.json")
            dest.write_text((Path(d) / "new.json").read_text())
            (Path(d) / "new.json").unlink()
            self.assertEqual([r.name for r in report.latest_runs(d)], [dest.name])
            # the same run again: the same file
            self.assertEqual(report.publish_path(report.Run.load(dest), d), dest)


class Readme(unittest.TestCase):
    def test_generated_blocks_are_current(self):
        path = report.HERE / "README.md"
        text = path.read_text()
        self.assertEqual(len(report.BLOCK.findall(text)), 3)
        new = report.render_readme(text, report.load_targets(), report.latest_runs())
        self.assertEqual(new, text, "run bench/report.py --readme bench/README.md")


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    failed = len(res.failures) + len(res.errors)
    skipped = len(res.skipped)
    passed = res.testsRun - failed - skipped
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text("%d %d %d\n" % (passed, failed, skipped))
    print("bench-report-test: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
