# bench/bench.mk: the benchmark against test_hmm, on the project kernel
# (scripts/kernel/kernel.mk).  Included by the top-level Makefile.
#
#   make bench          one VM boot on the project kernel (KVER=7.3: the 7.3
#                       one): hmm_mirror.ko vs test_hmm.ko vs the CPU; results
#                       in build/bench/, the targets judged by bench/report.py
#                       from bench/targets.json
#   make bench-publish  keep the last run as bench/results/DATE-RELEASE.json,
#                       refresh the tables of bench/README.md and its plot
# Not part of `make test`; bench-report-test (report.py against its data
# and the README's tables) is.

BENCH_DIR := $(BUILD)/bench
# One binary per kernel: it is compiled against that kernel's test_hmm uapi.
BENCH_BIN := $(BENCH_DIR)/bin-$(KREL)/hmm_bench
BENCH_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -pthread
# The harness and its shared parts (bench/*.c), one file per case (cases/).
BENCH_SRCS := $(wildcard bench/*.c bench/cases/*.c)
# The dmirror uapi header comes from the kernel source the build tree was
# made from (never copied into this repository): KDIR is a project kernel's.
BENCH_UAPI := $(wildcard $(KDIR)/source/lib/test_hmm_uapi.h)

.PHONY: bench bench-bin bench-publish bench-report-test

##@ Custom kernels and benchmarks
bench: ## hmm_mirror vs the kernel's test_hmm on the project kernel (KVER=7.3: on the 7.3 one)
	@bench/run-bench.sh

bench-bin: $(BENCH_BIN) ## only build the benchmark program
$(BENCH_BIN): $(BENCH_SRCS) bench/bench.h abi/hmm_mirror.h $(BENCH_UAPI)
	@test -n "$(BENCH_UAPI)" || { echo "missing: $(KDIR)/source/lib/test_hmm_uapi.h (KDIR= a project kernel's build tree; make bench finds it)"; exit 1; }
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -Iabi -Ibench -I$(dir $(BENCH_UAPI)) -o $@ $(BENCH_SRCS)

bench-publish: ## keep the last make bench run in bench/results/ and refresh bench/README.md's tables
	@test -s $(BENCH_DIR)/results.json || { echo "missing: $(BENCH_DIR)/results.json (run make bench first)"; exit 1; }
	@bench/report.py --publish $(BENCH_DIR)/results.json --readme bench/README.md
	@if [ -s $(BENCH_DIR)/throughput.png ]; then cp $(BENCH_DIR)/throughput.png bench/throughput.png; \
		echo "bench-publish: bench/throughput.png"; fi

##@ Single suites and test builds
# Part of make test: the verdicts of bench/report.py and the README's tables.
bench-report-test: ## check bench/report.py, bench/targets.json and bench/README.md's generated tables
	@mkdir -p $(RESULTS)
	@python3 tests/bench/test_report.py $(RESULTS)/bench_report.counts
HOST_TEST_TARGETS += bench-report-test
