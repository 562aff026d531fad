# scripts/kernel/kernel.mk: the project kernels, built from Debian's kernel
# source with HMM, DEVICE_PRIVATE and TEST_HMM (build-kernel.sh), and what
# runs on them.  Included by the top-level Makefile.
#
#   make kernel        build (or reuse) the project kernel: Debian's
#                      linux-source-6.1 (KVER=7.3: linux-source-7.3), cached
#                      in $(HMM_CACHE)/kernels/default-<version>/
#   make kernel-debug  the same plus KASAN, lockdep, kmemleak, DEBUG_VM
#   make test-debug    every VM suite of `make test` on the debug kernel; the
#                      runner fails on any KASAN/lockdep report and on what
#                      its kmemleak scan at the end finds
#   make hmm-selftest  the kernel's own hmm-tests against its test_hmm.ko
# None of them is part of `make test`, which runs on Debian's kernels.

.PHONY: kernel kernel-debug test-debug hmm-selftest

##@ Custom kernels and benchmarks
kernel: ## build the project kernel (DEVICE_PRIVATE, TEST_HMM) for make bench (KVER=7.3: from linux-source-7.3)
	@scripts/kernel/build-kernel.sh default

kernel-debug: ## the project kernel plus KASAN, lockdep, kmemleak, DEBUG_VM (KVER=7.3 too)
	@scripts/kernel/build-kernel.sh debug

# KASAN and lockdep make TCG several times slower: a long timeout.
# Debian's 6.1.192 warns in hugetlb_split() (it asserts the i_mmap lock,
# which __vma_adjust() does not hold there) on any munmap that splits a
# private hugetlb mapping, with no module loaded (scripts/kernel/README.md,
# scripts/kernel/repro-hugetlb-split.py): that report, and only that one,
# is not a failure.
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

# The reference row of tests/kmod/conformance/PARITY.md.
hmm-selftest: ## the kernel's own HMM selftest (hmm-tests.c) against test_hmm.ko on the project kernel (KVER=7.3 too)
	@scripts/kernel/hmm-selftest.sh
