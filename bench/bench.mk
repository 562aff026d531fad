# bench/bench.mk: the project kernels and the benchmark against test_hmm.
# Included by the top-level Makefile (-include bench/bench.mk).
#
#   make kernel        build (or reuse) the project kernel: Debian's
#                      linux-source-6.1 + HMM/DEVICE_PRIVATE/TEST_HMM=m, cached
#                      in /var/cache/hmm-mirror/kernels/default-<version>/
#   make kernel-debug  the same plus KASAN, lockdep, kmemleak, DEBUG_VM
#   make bench         one VM boot on the project kernel: hmm_mirror.ko vs
#                      test_hmm.ko vs the CPU; results in build/bench/
# None of them is part of `make test`, which stays on the Debian kernel.

BENCH_DIR := $(BUILD)/bench
BENCH_BIN := $(BENCH_DIR)/hmm_bench
BENCH_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -pthread
# The dmirror uapi header comes from the kernel source the build tree was
# made from (never copied into this repository).
BENCH_UAPI := $(firstword $(wildcard $(KDIR)/source/lib/test_hmm_uapi.h \
	/var/tmp/hmm-src/linux-source-6.1/lib/test_hmm_uapi.h \
	/var/cache/hmm-mirror/src/linux-source-6.1/lib/test_hmm_uapi.h))

.PHONY: kernel kernel-debug bench bench-bin

kernel:
	@scripts/kernel/build-kernel.sh default

kernel-debug:
	@scripts/kernel/build-kernel.sh debug

bench:
	@bench/run-bench.sh

bench-bin: $(BENCH_BIN)
$(BENCH_BIN): bench/hmm_bench.c abi/hmm_mirror.h
	@test -n "$(BENCH_UAPI)" || { echo "missing: lib/test_hmm_uapi.h (run 'make kernel' first)"; exit 1; }
	@mkdir -p $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) -Iabi -I$(dir $(BENCH_UAPI)) -o $@ bench/hmm_bench.c
