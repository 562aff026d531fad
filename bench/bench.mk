# bench/bench.mk: the benchmark against test_hmm, on the project kernel
# (scripts/kernel/kernel.mk).  Included by the top-level Makefile.
#
#   make bench         one VM boot on the project kernel (KVER=7.3: the 7.3
#                      one): hmm_mirror.ko vs test_hmm.ko vs the CPU; results
#                      in build/bench/
# Not part of `make test`.

BENCH_DIR := $(BUILD)/bench
# One binary per kernel: it is compiled against that kernel's test_hmm uapi.
BENCH_BIN := $(BENCH_DIR)/bin-$(KREL)/hmm_bench
BENCH_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -pthread
# The dmirror uapi header comes from the kernel source the build tree was
# made from (never copied into this repository): KDIR is a project kernel's.
BENCH_UAPI := $(wildcard $(KDIR)/source/lib/test_hmm_uapi.h)

.PHONY: bench bench-bin

##@ Custom kernels and benchmarks
bench: ## hmm_mirror vs the kernel's test_hmm on the project kernel (KVER=7.3: on the 7.3 one)
	@bench/run-bench.sh

bench-bin: $(BENCH_BIN) ## only build the benchmark program
$(BENCH_BIN): bench/hmm_bench.c abi/hmm_mirror.h $(BENCH_UAPI)
	@test -n "$(BENCH_UAPI)" || { echo "missing: $(KDIR)/source/lib/test_hmm_uapi.h (KDIR= a project kernel's build tree; make bench finds it)"; exit 1; }
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -Iabi -I$(dir $(BENCH_UAPI)) -o $@ bench/hmm_bench.c
