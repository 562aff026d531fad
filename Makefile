# hmm-mirror: top-level build.  `make help` lists the targets: it is made
# from the "## " comments on the rule lines of this file and the fragments
# (scripts/make-help.awk); `make help-test` fails on a .PHONY target
# without one.  `make` alone builds what a user needs; test binaries are
# built by the test targets that run them.

SHELL := /bin/bash
BUILD ?= $(CURDIR)/build
CC ?= gcc
CXX ?= g++
# What the project fetches and builds outside the work tree: the kernels of
# the test matrix (debian-kernels/), the custom kernels (kernels/) and the
# kernel source trees they come from (src/).
HMM_CACHE ?= /var/cache/hmm-mirror
# Unpacked linux-source trees (checkpatch.pl): the project's, or one
# unpacked in /usr/src by hand.
KERNEL_SRC_TREES := $(wildcard $(HMM_CACHE)/src/linux-source-* /usr/src/linux-source-*)
# The sanitizers of every *-san build (the core, the library, the unit,
# conformance and fuzz tests): ASan and UBSan, stopping at the first report.
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# $(call san_pair,SOURCE,OBJECT,SAN_OBJECT,COMPILE[,SAN_EXTRA]): the rules
# of a plain and a sanitizer build of the same sources, as patterns
# (dir/%.c, build/x/%.o, build/x-san/%.o).  COMPILE is the compiler and its
# flags, written with $$ so that it expands when the rule runs; the
# sanitizer rule adds $(SAN_FLAGS) and SAN_EXTRA (e.g. its own -O).
define san_pair
$(2): $(1)
	@mkdir -p $$(@D)
	$(4) -c $$< -o $$@
$(3): $(1)
	@mkdir -p $$(@D)
	$(4) $$(SAN_FLAGS) $(5) -c $$< -o $$@
endef

# The kernel the module is built for and the VM boots: by default the
# newest Debian kernel installed.  KDIR= and KERNEL= select another.
# Whether the caller named a kernel (KDIR= on the command line or in the
# environment): make test then runs the VM suites on that kernel alone, else
# on every kernel of kernels.list.  Decided by the first make and exported,
# since the makes it starts see KDIR in their environment either way.
ifeq ($(filter yes no,$(HMM_KERNEL_CHOSEN)),)
HMM_KERNEL_CHOSEN := $(if $(and $(filter command line environment,$(origin KDIR)),$(strip $(KDIR))),yes,no)
export HMM_KERNEL_CHOSEN
endif
# An empty value counts as unset (not `?=`): `make test` exports both to the
# make it starts after setup, empty on a machine that had no kernel headers
# before setup installed them (tests/make/env_check.sh).
ifeq ($(strip $(KDIR)),)
override KDIR := $(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64)))
endif
# utsrelease.h, not kernel.release: Debian's headers put the upstream
# version in the latter, while vermagic and /boot use the former.
KREL := $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
# A kernel of the test matrix that is not installed (make kernels unpacked
# it into KCACHE) boots from there.
KCACHE ?= $(HMM_CACHE)/debian-kernels
# The scripts take the same places from the environment.
HMM_KERNEL_CACHE ?= $(HMM_CACHE)/kernels
export KCACHE HMM_KERNEL_CACHE
ifeq ($(strip $(KERNEL)),)
override KERNEL := $(if $(KREL),$(firstword $(wildcard /boot/vmlinuz-$(KREL) $(KCACHE)/$(KREL)/root/boot/vmlinuz-$(KREL))))
endif
export KDIR KERNEL

# The project version (the tool, the module's MODULE_VERSION, dkms, the man
# pages) has one home, the file VERSION: kmod/Kbuild reads it too, so the
# module gets the same version however it is built (make module, DKMS, or
# make -C KDIR M=$PWD/kmod).  Edit VERSION to change it.
override HMM_MIRROR_VERSION := $(shell cat $(CURDIR)/VERSION)

MODULE_DIR := $(BUILD)/kmod/$(KREL)
# How kbuild is run for KDIR (scripts/debian-kernels.mk: headers unpacked by
# make kernels outside /usr/src, and kernels built in a build root).
KBUILD_MAKE = $(MAKE) -C $(KDIR) M=$(MODULE_DIR)/kmod
MODULE := $(MODULE_DIR)/kmod/hmm_mirror.ko
MODULE_SRCS := $(wildcard kmod/*.c kmod/*.h kmod/Kbuild kmod/conftest.sh kmod/conftest/*.c \
	core/*.c core/*.h abi/*.h) VERSION
RESULTS := $(BUILD)/results
VM := tests/vm/run-vm.sh
CHECKPATCH ?= $(firstword $(wildcard $(addsuffix /scripts/checkpatch.pl,$(KERNEL_SRC_TREES))))
KERNEL_DOC ?= $(firstword $(wildcard $(addsuffix /scripts/kernel-doc,$(KERNEL_SRC_TREES))))

.PHONY: all help help-test env-test doc-version-test layout-test setup module host test run-tests host-test unit-test vm-test vm-selftest demo demo-run check clean
.DEFAULT_GOAL := all

# The headings of `make help`, in this order (fragments add rows to them).
##@ Build (make with no target builds all)
##@ Install
##@ Demo and tests
##@ Single suites and test builds
##@ Development
##@ Custom kernels and benchmarks
##@ Kernels of the test matrix
##@ Variables
##+ KDIR=PATH       kernel build tree (default: the newest installed Debian headers)
##+ KERNEL=PATH     kernel image the VM boots
##+ KERNELS="6.12 7.3"  the kernels of kernels.list that make test, kernels, dkms-test and the *-matrix targets handle
##+ KVER=7.3        the source of the project kernels (make kernel, kernel-debug, bench, hmm-selftest; default 6.1)
##+ HMM_CACHE=DIR   where kernels and kernel sources are kept (default /var/cache/hmm-mirror)
##+ BUILD=DIR       output directory (default: build/)
##+ VM_TIMEOUT=S    seconds before a hung VM is killed
##+ DESTDIR, PREFIX, LIBDIR, ...   where make install puts things (packaging/packaging.mk)

# .PHONY targets that `make help` leaves out (help-test checks the rest):
# the conformance suite's own targets (tests/kmod/conformance/conformance.mk;
# vm-test builds the binaries).
HELP_HIDDEN := conformance conformance-san conformance-clean

# Suites run inside the VM (GoogleTest binaries, or *.sh / *.py scripts that
# write $HMM_RESULTS/<name>.counts), and host test targets; every fragment
# adds its own.
VM_SUITES :=
HOST_TEST_TARGETS := unit-test help-test env-test doc-version-test layout-test
VM_HUGEPAGES ?= 64
export VM_HUGEPAGES

include core/core.mk
include tests/core/unit/unit.mk
include tests/core/fuzz/fuzz.mk
include tests/kmod/conformance/conformance.mk
include tests/kmod/torture/torture.mk
include bindings/c/libhmm_mirror.mk
include examples/examples.mk
include tests/target/target.mk
include cli/cli.mk
include packaging/packaging.mk
include bindings/rust/rust.mk
include bindings/python/python.mk
include scripts/kernel/kernel.mk
include bench/bench.mk
include scripts/debian-kernels.mk

VM_SUITES += $(CONFORMANCE_BIN) $(CONFORMANCE_SWITCHES_OFF) $(CONFORMANCE_SAN_BIN)
# Last: it unloads the module (refused while pages are in device memory)
# and loads $(MODULE) again with the parameters it had.
VM_SUITES += tests/kmod/vm/unload_test.py

##@ Build (make with no target builds all)
# What a user needs: no test binary (the test targets build their own).
all: lib cli module examples ## library, hmm-mirror tool, module, examples (the default)

setup: ## install the Debian packages the build and the tests need
	scripts/setup.sh

# Every host binary, test binaries included (the fragments add theirs);
# not the module, so it needs no kernel headers.
host: lib cli examples $(CORE_LIB) $(CORE_SAN_LIB) $(CONFORMANCE_BIN) $(CONFORMANCE_SAN_BIN) ## lib, cli, examples and every host test binary (plain and ASan/UBSan)

# The module is built in a per-kernel copy of the sources, so builds for
# several kernels never share objects and the source tree stays clean.
module: $(MODULE) ## hmm_mirror.ko for KDIR's kernel
$(MODULE): $(MODULE_SRCS)
	@scripts/require.sh kdir
	@rm -rf $(MODULE_DIR) && mkdir -p $(MODULE_DIR)
	@cp -r kmod core abi VERSION $(MODULE_DIR)/
	@rm -f $(MODULE_DIR)/kmod/compat_probes.h
	$(KBUILD_MAKE) W=1 modules

##@ Demo and tests
# test and demo install what is missing first, then start a new make so that
# KDIR and KERNEL are found even on a machine that had no kernel before.
# make test also fetches the kernels of kernels.list (make kernels), unless
# KDIR= names the one kernel to test.
test: ## setup and the kernels, then every suite: host tests, then one VM boot per kernel
	@scripts/setup.sh
	@[ "$(HMM_KERNEL_CHOSEN)" = yes ] || scripts/debian-kernels.sh fetch $(KERNELS)
	@$(MAKE) --no-print-directory run-tests

# The VM suites run on every kernel of kernels.list (KERNELS= a subset), or
# on KDIR's kernel alone when KDIR= is given.
VM_TEST_TARGET := $(if $(filter yes,$(HMM_KERNEL_CHOSEN)),vm-test,vm-matrix)

run-tests: ## make test without the setup step
	@scripts/require.sh host kdir vm
	@rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory host-test; u=$$?; \
	$(MAKE) --no-print-directory $(VM_TEST_TARGET); v=$$?; \
	$(MAKE) --no-print-directory vm-selftest; s=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s"; \
	python3 tests/report.py $(RESULTS) && [ $$u -eq 0 ] && [ $$v -eq 0 ] && [ $$s -eq 0 ]

host-test: $(HOST_TEST_TARGETS) ## the host suites of make test (no VM)

# Every VM suite (conformance plain and under ASan/UBSan, library, CLI, ...)
# inside one VM boot with two NUMA nodes and reserved huge pages.  A failure
# that leaves no report (module build, boot) counts as one failed test.
VM_RESULTS ?= $(RESULTS)/vm
# A kernel's suites take about 4 minutes on a quiet machine and up to 8.5
# measured beside kernel builds and other VMs: the limit only catches a hung
# guest.
VM_TEST_TIMEOUT ?= 1200
vm-test: $(VM_SUITES) ## the VM suites of make test on KDIR's kernel, in one VM boot
	@scripts/require.sh vm
	@mkdir -p $(VM_RESULTS)
	@$(MAKE) --no-print-directory module || \
		{ echo "vm-test: building the module for $(KREL) failed"; \
		  echo "0 1 0" > $(VM_RESULTS)/module-build.counts; exit 1; }
	@HMM_MODULE=$(abspath $(MODULE)) \
	$(VM) --numa --timeout $${VM_TIMEOUT:-$(VM_TEST_TIMEOUT)} --module $(MODULE) --scratch $(VM_RESULTS) -- \
		tests/vm/guest-suite.sh $(VM_RESULTS) $(VM_SUITES) || \
		{ rc=$$?; echo "vm-test: VM run failed (status $$rc)"; \
		  echo "0 1 0" > $(VM_RESULTS)/vm-runner.counts; exit $$rc; }

# The runner's own checks: exit status, kernel-log scan, timeout, mounts.
vm-selftest: ## the VM runner's own checks (part of make test)
	@scripts/require.sh vm
	@mkdir -p $(RESULTS)
	@tests/vm/selftest.sh | tee $(BUILD)/vm-selftest.log; rc=$${PIPESTATUS[0]}; \
	tail -1 $(BUILD)/vm-selftest.log | \
		sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$$/\1 \2 0/p' \
		> $(RESULTS)/vm-selftest.counts; \
	[ -s $(RESULTS)/vm-selftest.counts ] || echo "0 1 0" > $(RESULTS)/vm-selftest.counts; \
	exit $$rc

demo: ## setup, then boot the VM, load the module, run a mirror session
	@scripts/setup.sh
	@$(MAKE) --no-print-directory demo-run

demo-run: $(MODULE) $(DEMO_BIN) ## make demo without the setup step
	@scripts/require.sh vm
	$(VM) --module $(MODULE) -- $(DEMO_BIN)

##@ Development
check: $(MODULE) ## checkpatch --strict, kernel-doc, sparse and W=1 on kmod/ and core/
	@test -n "$(CHECKPATCH)" || { echo "missing: checkpatch.pl (apt-get install linux-source-6.1 and unpack it)"; exit 1; }
	perl $(CHECKPATCH) --no-tree --strict --terse -f $(filter-out kmod/compat_probes.h,$(wildcard kmod/*.c kmod/*.h)) kmod/conftest/*.c core/*.c core/*.h
	@# Every non-static function of kmod/*.c documented (the objects say which).
	@test -n "$(KERNEL_DOC)" || { echo "missing: scripts/kernel-doc of a kernel source tree (as for checkpatch.pl)"; exit 1; }
	scripts/check-kernel-doc.sh $(KERNEL_DOC) $(MODULE_DIR)/kmod $(wildcard kmod/*.c)
	@# Objects removed: the W=1 warnings of every file land in this log.
	@find $(MODULE_DIR) -name '*.o' -delete
	$(KBUILD_MAKE) W=1 C=2 modules 2>&1 | tee $(BUILD)/check-$(KREL).log
	@! grep -E "warning|error" $(BUILD)/check-$(KREL).log
	@! grep -q "sparse is not available" $(BUILD)/check-$(KREL).log || \
		{ echo "check: sparse did not run for $(KREL): $(SPARSE_REFUSED)"; [ "$(SPARSE_OPTIONAL)" = yes ]; }

# Why a kernel may not run sparse: 7.x accepts only a sparse that knows
# __typeof_unqual__ (scripts/checker-valid.sh, which Debian's 7.x headers
# do not even ship), and no released sparse does (Debian has 0.6.4).
SPARSE_REFUSED := the kernel refuses sparse $(shell sparse --version 2>/dev/null) (its scripts/checker-valid.sh wants __typeof_unqual__, which no released sparse has)
SPARSE_OPTIONAL ?= no

help: ## this list
	@awk -f scripts/make-help.awk $(MAKEFILE_LIST)

# Part of make test: every .PHONY target is in make help.
help-test: ## check that make help lists every target
	@mkdir -p $(RESULTS)
	@tests/make/help_check.sh "$(MAKE)" $(RESULTS)/make_help.counts

# Part of make test: the make that `make test` starts after setup finds
# the kernel even when the first one exported KDIR/KERNEL empty.
env-test: ## check that empty KDIR/KERNEL from a parent make count as unset
	@mkdir -p $(RESULTS)
	@tests/make/env_check.sh "$(MAKE)" $(RESULTS)/make_env.counts

# Part of make test: docs, comments and package versions name the versions
# the build produces (VERSION, the library header, abi/hmm_mirror.h, the
# symbol map).
doc-version-test: ## check that docs name only versions the build produces
	@mkdir -p $(RESULTS)
	@tests/make/doc_versions_check.py $(RESULTS)/doc_versions.counts

# Part of make test: every test where tests/README.md's rule puts it.
layout-test: ## check that tests follow tests/README.md (place, unique names)
	@mkdir -p $(RESULTS)
	@tests/make/layout_check.py $(RESULTS)/layout.counts

clean: ## remove the build directory
	rm -rf $(BUILD)
