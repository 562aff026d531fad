# hmm-mirror: top-level build.  `make help` lists the targets.

SHELL := /bin/bash
BUILD ?= $(CURDIR)/build
CC ?= gcc
CXX ?= g++

# The kernel the module is built for and the VM boots: by default the
# newest Debian kernel installed.  KDIR= and KERNEL= select another.
KDIR ?= $(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64)))
# utsrelease.h, not kernel.release: Debian's headers put the upstream
# version in the latter, while vermagic and /boot use the former.
KREL := $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
KERNEL ?= $(if $(KREL),/boot/vmlinuz-$(KREL))
export KDIR KERNEL

MODULE_DIR := $(BUILD)/kmod/$(KREL)
MODULE := $(MODULE_DIR)/kmod/hmm_mirror.ko
MODULE_SRCS := $(wildcard kmod/*.c kmod/*.h kmod/Kbuild core/*.c core/*.h abi/*.h)
RESULTS := $(BUILD)/results
VM := tests/vm/run-vm.sh
CHECKPATCH ?= $(firstword $(wildcard /usr/src/linux-source-*/scripts/checkpatch.pl /var/tmp/hmm-src/linux-source-*/scripts/checkpatch.pl /var/cache/hmm-mirror/src/linux-source-*/scripts/checkpatch.pl))

.PHONY: all help setup module host test run-tests host-test unit-test vm-test vm-selftest demo demo-run check clean
.DEFAULT_GOAL := all

# Suites run inside the VM (GoogleTest binaries, or *.sh / *.py scripts that
# write $HMM_RESULTS/<name>.counts), and host test targets; every fragment
# adds its own.
VM_SUITES :=
HOST_TEST_TARGETS := unit-test
VM_HUGEPAGES ?= 64
export VM_HUGEPAGES

include core/core.mk
include tests/unit/unit.mk
include tests/fuzz/fuzz.mk
include tests/conformance/conformance.mk
include tests/torture/torture.mk
include examples/examples.mk
-include bindings/c/libhmm_mirror.mk
-include cli/cli.mk
-include packaging/packaging.mk
-include bindings/rust/rust.mk
-include bindings/python/python.mk
-include bench/bench.mk

VM_SUITES += $(CONFORMANCE_BIN) $(CONFORMANCE_SAN_BIN)

all: host module

help:
	@echo "make setup      install build and test dependencies (Debian packages)"
	@echo "make demo       boot the VM, load the module, run a mirror session"
	@echo "make test       host unit tests + conformance suite in the VM"
	@echo "make module     build hmm_mirror.ko for KDIR=$(KDIR)"
	@echo "make host       build the host library and test binaries"
	@echo "make fuzz       run the core fuzzers for FUZZ_SECONDS (600)"
	@echo "make check      checkpatch --strict, sparse and W=1 on kmod/ and core/"
	@echo "make torture    seeded chaos run in the VM (SEED=1 SECONDS=600 WORKERS=2)"
	@echo "make install    module (+depmod), udev rule, library, header, .pc, hmm-mirror tool"
	@echo "make uninstall  remove what make install put in place"
	@echo "make dkms-test  dkms add/build/remove against the installed headers"
	@echo "make rust-example  run the Rust prototype device in the VM"
	@echo "make kernel     build the custom kernel (DEVICE_PRIVATE, TEST_HMM) for make bench"
	@echo "make bench      hmm_mirror vs the kernel's test_hmm on the custom kernel"
	@echo "make kernel-debug  the custom kernel plus KASAN, lockdep, kmemleak, DEBUG_VM"
	@echo "make test-debug    the VM suites on the debug kernel (kmemleak scan at the end)"
	@echo "make clean      remove $(BUILD)"
	@echo "Variables: KDIR= kernel build tree, KERNEL= kernel image for the VM,"
	@echo "           VM_TIMEOUT= seconds before a hung VM is killed"

setup:
	scripts/setup.sh

host: $(CORE_LIB) $(CORE_SAN_LIB) $(CONFORMANCE_BIN) $(CONFORMANCE_SAN_BIN) $(EXAMPLES)

# The module is built in a per-kernel copy of the sources, so builds for
# several kernels never share objects and the source tree stays clean.
module: $(MODULE)
$(MODULE): $(MODULE_SRCS)
	@scripts/require.sh kdir
	@rm -rf $(MODULE_DIR) && mkdir -p $(MODULE_DIR)
	@cp -r kmod core abi $(MODULE_DIR)/
	$(MAKE) -C $(KDIR) M=$(MODULE_DIR)/kmod W=1 modules

# test and demo install what is missing first, then start a new make so that
# KDIR and KERNEL are found even on a machine that had no kernel before.
test:
	@scripts/setup.sh
	@$(MAKE) --no-print-directory run-tests

run-tests:
	@scripts/require.sh host kdir vm
	@rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory host-test; u=$$?; \
	$(MAKE) --no-print-directory vm-test; v=$$?; \
	[ $$v -eq 0 ] || ls $(RESULTS)/vm/*.json >/dev/null 2>&1 || \
		echo "0 1 0" > $(RESULTS)/vm-build.counts; \
	$(MAKE) --no-print-directory vm-selftest; s=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s"; \
	python3 tests/report.py $(RESULTS) && [ $$u -eq 0 ] && [ $$v -eq 0 ] && [ $$s -eq 0 ]

host-test: $(HOST_TEST_TARGETS)

# Every VM suite (conformance plain and under ASan/UBSan, library, CLI, ...)
# inside one VM boot with two NUMA nodes and reserved huge pages.
vm-test: $(MODULE) $(VM_SUITES)
	@scripts/require.sh vm
	@mkdir -p $(RESULTS)/vm
	@$(VM) --numa --module $(MODULE) --scratch $(RESULTS)/vm -- \
		tests/vm/guest-suite.sh $(RESULTS)/vm $(VM_SUITES) || \
		{ rc=$$?; echo "vm-test: VM run failed (status $$rc)"; \
		  echo "0 1 0" > $(RESULTS)/vm-runner.counts; exit $$rc; }

# The runner's own checks: exit status, kernel-log scan, timeout, mounts.
vm-selftest:
	@scripts/require.sh vm
	@mkdir -p $(RESULTS)
	@tests/vm/selftest.sh | tee $(BUILD)/vm-selftest.log; rc=$${PIPESTATUS[0]}; \
	tail -1 $(BUILD)/vm-selftest.log | \
		sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$$/\1 \2 0/p' \
		> $(RESULTS)/vm-selftest.counts; \
	[ -s $(RESULTS)/vm-selftest.counts ] || echo "0 1 0" > $(RESULTS)/vm-selftest.counts; \
	exit $$rc

demo:
	@scripts/setup.sh
	@$(MAKE) --no-print-directory demo-run

demo-run: $(MODULE) $(DEMO_BIN)
	@scripts/require.sh vm
	$(VM) --module $(MODULE) -- $(DEMO_BIN)

check: $(MODULE)
	@test -n "$(CHECKPATCH)" || { echo "missing: checkpatch.pl (apt-get install linux-source-6.1 and unpack it)"; exit 1; }
	perl $(CHECKPATCH) --no-tree --strict --terse -f kmod/*.c kmod/*.h core/*.c core/*.h
	$(MAKE) -C $(KDIR) M=$(MODULE_DIR)/kmod W=1 C=2 modules 2>&1 | tee $(BUILD)/check.log
	@! grep -E "warning|error" $(BUILD)/check.log

clean:
	rm -rf $(BUILD)
