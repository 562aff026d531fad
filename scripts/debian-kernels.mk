# scripts/debian-kernels.mk - the Debian kernels of the test matrix
# (kernels.list), included by the top Makefile:
#   make kernels          fetch and unpack them into $(KCACHE) (KERNELS= a subset)
#   make kernels-latest   what the archive serves now, next to kernels.list
#   make modules-matrix   hmm_mirror.ko for each into build/kmod/<release>/
#   make vm-matrix        make test's VM suites on each, one boot per kernel
#   make check-matrix     make check for each
# A kernel of the matrix is then used like any other: KDIR= names its headers
# (`scripts/debian-kernels.sh env NAME` prints KERNEL, KDIR and VM_MODDIR).

.PHONY: kernels kernels-latest modules-matrix vm-matrix check-matrix

# Headers that make kernels unpacked outside /usr/src: Debian's arch
# Makefile includes its -common tree by absolute path, so kbuild is started
# with the -common Makefile next to KDIR (-f) instead; that is what the
# include does for headers installed in /usr/src.
KDIR_COMMON := $(shell sed -n 's,^include /usr/src/\(linux-headers-[^/]*-common\)/Makefile$$,\1,p' $(KDIR)/Makefile 2>/dev/null)
KDIR_F := $(if $(KDIR_COMMON),$(wildcard $(abspath $(KDIR)/../$(KDIR_COMMON))/Makefile))

# Headers in a build root (kernels.list "buildroot = trixie"): kbuild runs
# there, in a chroot, with the module's build directory mounted at /build.
KCHROOT := $(patsubst %/usr/src/,%,$(filter $(KCACHE)/buildroot-%/usr/src/,$(dir $(abspath $(KDIR)))))
ifneq ($(KCHROOT),)
KBUILD_MAKE = scripts/debian-kernels.sh chroot $(KCHROOT) $(MODULE_DIR) \
	$(MAKE) -C $(patsubst $(KCHROOT)%,%,$(abspath $(KDIR))) M=/build/kmod
else
KBUILD_MAKE = $(MAKE) -C $(KDIR) $(if $(KDIR_F),-f $(KDIR_F)) M=$(MODULE_DIR)/kmod
endif

# The guest's module tree, when KDIR's kernel is not installed on the host.
ifeq ($(strip $(VM_MODDIR)),)
override VM_MODDIR := $(if $(KREL),$(if $(wildcard /lib/modules/$(KREL)),,$(wildcard $(KCACHE)/$(KREL)/root/lib/modules/$(KREL))))
endif
export VM_MODDIR

##@ Kernels of the test matrix
kernels: ## fetch and unpack the kernels of kernels.list into /var/cache/hmm-mirror (KERNELS="6.12 7.3" a subset)
	@scripts/debian-kernels.sh fetch $(KERNELS)

kernels-latest: ## the newest kernel versions in the Debian archive, next to kernels.list
	@scripts/debian-kernels.sh latest

# One kbuild run per kernel, W=1; a kernel whose build fails or warns is
# reported and the others are still built.
modules-matrix: ## hmm_mirror.ko for every kernel of kernels.list (W=1, no warnings) into build/kmod/<release>/
	@list=$$(scripts/debian-kernels.sh list $(KERNELS)) || exit 1; \
	fail=0; \
	while read -r name rel kdir; do \
		[ -f "$$kdir/Makefile" ] || { echo "modules-matrix: $$name: no headers in $$kdir (run 'make kernels KERNELS=$$name')"; fail=1; continue; }; \
		mkdir -p $(BUILD)/kmod; log=$(BUILD)/kmod/$$rel.log; \
		echo "modules-matrix: $$name ($$rel): building, log in $$log"; \
		if ! $(MAKE) --no-print-directory module KDIR=$$kdir >$$log 2>&1; then \
			tail -n 20 $$log; echo "modules-matrix: $$name: FAILED"; fail=1; \
		elif grep -E "warning:|error:" $$log; then \
			echo "modules-matrix: $$name: warnings"; fail=1; \
		else echo "modules-matrix: $$name: $(BUILD)/kmod/$$rel/kmod/hmm_mirror.ko"; fi; \
	done <<<"$$list"; \
	exit $$fail

# The VM suites of make test on each kernel, results in
# $(RESULTS)/kernel-NAME/ (tests/report.py prints a line per kernel).  The
# suites are host binaries and scripts: built once, run on every kernel.
vm-matrix: $(VM_SUITES) ## make test's VM suites on every kernel of kernels.list, one VM boot each (KERNELS= a subset)
	@list=$$(scripts/debian-kernels.sh list $(KERNELS)) || exit 1; \
	fail=0; \
	while read -r name rel kdir; do \
		out=$(RESULTS)/kernel-$$name; rm -rf $$out; mkdir -p $$out; \
		echo "$$name $$rel" > $$out/kernel.txt; \
		echo "vm-matrix: kernel $$name ($$rel)"; \
		if ! env=$$(scripts/debian-kernels.sh env $$name); then \
			echo "0 1 0" > $$out/kernel-missing.counts; fail=1; continue; fi; \
		eval "$$env"; \
		start=$$(date +%s); \
		$(MAKE) --no-print-directory vm-test KDIR=$$KDIR KERNEL=$$KERNEL \
			VM_MODDIR=$$VM_MODDIR VM_RESULTS=$$out || fail=1; \
		echo "vm-matrix: kernel $$name: $$(( $$(date +%s) - start )) s"; \
	done <<<"$$list"; \
	exit $$fail

# make check per kernel: checkpatch, W=1 and sparse; a kernel that refuses
# the installed sparse (7.x) is checked without it, and says so.
check-matrix: ## make check (checkpatch, kernel-doc, sparse, W=1) for every kernel of kernels.list
	@list=$$(scripts/debian-kernels.sh list $(KERNELS)) || exit 1; \
	fail=0; \
	while read -r name rel kdir; do \
		log=$(BUILD)/check-matrix-$$name.log; mkdir -p $(BUILD); \
		if $(MAKE) --no-print-directory check KDIR=$$kdir SPARSE_OPTIONAL=yes >$$log 2>&1; then \
			if grep -q "^check: sparse did not run" $$log; then \
				echo "check-matrix: $$name ($$rel): checkpatch, kernel-doc and W=1 clean; $$(sed -n 's/^check: //p' $$log)"; \
			else echo "check-matrix: $$name ($$rel): checkpatch, kernel-doc, sparse and W=1 clean"; fi; \
		else tail -n 15 $$log; echo "check-matrix: $$name ($$rel): FAILED (log $$log)"; fail=1; fi; \
	done <<<"$$list"; \
	exit $$fail
