# bench/bench.mk: the project kernels and the benchmark against test_hmm.
# Included by the top-level Makefile (-include bench/bench.mk).
#
#   make kernel        build (or reuse) the project kernel: Debian's
#                      linux-source-6.1 (KVER=7.3: linux-source-7.3) +
#                      HMM/DEVICE_PRIVATE/TEST_HMM=m, cached in
#                      /var/cache/hmm-mirror/kernels/default-<version>/
#   make kernel-debug  the same plus KASAN, lockdep, kmemleak, DEBUG_VM
#   make test-debug    every VM suite of `make test` on the debug kernel; the
#                      runner fails on any KASAN/lockdep report and on what
#                      its kmemleak scan at the end finds
#   make bench         one VM boot on the project kernel: hmm_mirror.ko vs
#                      test_hmm.ko vs the CPU; results in build/bench/
# None of them is part of `make test`, which stays on the Debian kernel.

BENCH_DIR := $(BUILD)/bench
# One binary per kernel: it is compiled against that kernel's test_hmm uapi.
BENCH_BIN := $(BENCH_DIR)/bin-$(KREL)/hmm_bench
BENCH_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -pthread
# The dmirror uapi header comes from the kernel source the build tree was
# made from (never copied into this repository).
BENCH_UAPI := $(firstword $(wildcard $(KDIR)/source/lib/test_hmm_uapi.h \
	/var/tmp/hmm-src/linux-source-6.1/lib/test_hmm_uapi.h \
	/var/cache/hmm-mirror/src/linux-source-6.1/lib/test_hmm_uapi.h))

.PHONY: kernel kernel-debug test-debug bench bench-bin

##@ Custom kernels and benchmarks
kernel: ## build the project kernel (DEVICE_PRIVATE, TEST_HMM) for make bench (KVER=7.3: from linux-source-7.3)
	@scripts/kernel/build-kernel.sh default

kernel-debug: ## the project kernel plus KASAN, lockdep, kmemleak, DEBUG_VM
	@scripts/kernel/build-kernel.sh debug

# KASAN and lockdep make TCG several times slower: a long timeout.
# Debian's 6.1.192 warns in hugetlb_split() (it asserts the i_mmap lock,
# which __vma_adjust() does not hold there) on any munmap that splits a
# private hugetlb mapping, with no module loaded (bench/README.md, "Debug
# kernel"): that report, and only that one, is not a failure.
TEST_DEBUG_KNOWN_WARNINGS := at include/linux/fs\.h:[0-9]+ hugetlb_split\+

test-debug: ## the VM suites on the debug kernel (kmemleak scan at the end)
	@env=$$(scripts/kernel/build-kernel.sh --print-env debug) || \
		{ echo "missing: the debug kernel (run 'make kernel-debug' first, ~1 h)"; exit 1; }; \
	eval "$$env"; export VM_MODDIR; \
	rm -rf $(RESULTS) && mkdir -p $(RESULTS); \
	start=$$(date +%s); \
	VM_IGNORE_WARNINGS='$(TEST_DEBUG_KNOWN_WARNINGS)' \
		$(MAKE) --no-print-directory vm-test KDIR=$$KDIR KERNEL=$$KERNEL VM_TIMEOUT=5400; rc=$$?; \
	echo "make test-debug: $$(( $$(date +%s) - start )) s on $$KERNEL"; \
	python3 tests/report.py $(RESULTS) && [ $$rc -eq 0 ]

bench: ## hmm_mirror vs the kernel's test_hmm on the project kernel (KVER=7.3: on the 7.3 one)
	@bench/run-bench.sh

bench-bin: $(BENCH_BIN) ## only build the benchmark program
$(BENCH_BIN): bench/hmm_bench.c abi/hmm_mirror.h $(BENCH_UAPI)
	@test -n "$(BENCH_UAPI)" || { echo "missing: lib/test_hmm_uapi.h (run 'make kernel' first)"; exit 1; }
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -Iabi -I$(dir $(BENCH_UAPI)) -o $@ bench/hmm_bench.c
