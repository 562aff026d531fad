# SPDX-License-Identifier: MIT
#
# packaging.mk - installing hmm-mirror, and its DKMS source tree; included
# from cli/cli.mk (after the library and tool rules).
#
#   make install     install-userspace, and hmm_mirror.ko for KDIR's kernel
#                    (+ depmod) with a modules-load.d file that loads it at
#                    boot
#   make install-userspace   everything but the module: the library, its
#                    header and man pages, the ABI header, pkg-config file,
#                    the hmm-mirror tool, its man page and completions, the
#                    udev rule and the sysusers.d file (+ the hmm_mirror
#                    group)
#   make uninstall   removes them again (the group stays)
#   make install-dkms / uninstall-dkms   install-userspace, the
#                    modules-load.d file and the module source under
#                    /usr/src/hmm-mirror-VERSION, registered with dkms
#                    (built and installed for KDIR's kernel)
#   make dkms-src    only stage that source tree (under DESTDIR)
#   make dkms-test   dkms add, build and install for each kernel of
#                    kernels.list in a build root of its Debian
#                    release, then boot each module (root, archive)
#   packaging-test   host test (part of make test): install and uninstall
#                    into a staging DESTDIR, pkg-config, compile and link
#                    against the staged library, build the staged DKMS tree
#                    (tests/packaging/install_test.sh lists every check)
#
# Variables: DESTDIR (staging root; depmod, ldconfig, groupadd and udevadm
# are skipped when it is set), PREFIX (/usr/local), BINDIR, LIBDIR,
# INCLUDEDIR, PKGCONFIGDIR, MANDIR ($(PREFIX)/share/man), BASHCOMPDIR
# ($(PREFIX)/share/bash-completion/completions), ZSHCOMPDIR
# ($(PREFIX)/share/zsh/site-functions; /usr/share/zsh/vendor-completions
# for PREFIX=/usr, as Debian's zsh searches), UDEVRULESDIR
# (/etc/udev/rules.d; packages use /usr/lib/udev/rules.d), SYSUSERSDIR and
# MODULESLOADDIR ($(PREFIX)/lib/sysusers.d and .../modules-load.d for
# PREFIX /usr or /usr/local, which systemd reads; /etc/... for any other
# PREFIX), MODULEDIR (/lib/modules/<release>/extra), CLI_INSTALL_RUNPATH
# (cli/cli.mk).  The project version HMM_MIRROR_VERSION (the tool, the
# module, dkms) comes from the file VERSION (top-level Makefile).

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(if $(filter /usr,$(PREFIX)),/usr/share/zsh/vendor-completions,$(PREFIX)/share/zsh/site-functions)
UDEVRULESDIR ?= /etc/udev/rules.d
SYSTEMDCONFDIR ?= $(if $(filter /usr /usr/local,$(PREFIX)),$(PREFIX)/lib,/etc)
SYSUSERSDIR ?= $(SYSTEMDCONFDIR)/sysusers.d
MODULESLOADDIR ?= $(SYSTEMDCONFDIR)/modules-load.d
SYSUSERS_CONF := packaging/hmm-mirror-sysusers.conf
MODULES_LOAD_CONF := packaging/hmm-mirror-modules-load.conf
MODULEDIR ?= /lib/modules/$(KREL)/extra
DKMS_NAME := hmm-mirror
DKMS_SRCDIR ?= /usr/src/$(DKMS_NAME)-$(HMM_MIRROR_VERSION)
UDEV_RULE := packaging/99-hmm-mirror.rules
# What the module build needs, and nothing else (see kmod/Kbuild).
DKMS_FILES := $(filter-out kmod/compat_probes.h,$(wildcard kmod/*.c kmod/*.h)) \
	kmod/Kbuild kmod/conftest.sh $(wildcard kmod/conftest/*.c) core/core_env.h \
	core/dpt.c core/dpt.h core/event_queue.c core/event_queue.h \
	abi/hmm_mirror.h VERSION

.PHONY: install uninstall install-userspace uninstall-userspace \
	install-module uninstall-module install-modules-load \
	uninstall-modules-load install-udev uninstall-udev dkms-src \
	install-dkms uninstall-dkms dkms-test packaging-test

##@ Install
install: install-userspace install-module ## everything: install-userspace, and the module (+depmod, loaded at boot)
uninstall: uninstall-userspace uninstall-module ## remove what make install put in place
install-userspace: install-lib install-cli install-udev ## all but the module: library, headers, .pc, tool, man pages, completions, udev rule, group
uninstall-userspace: uninstall-lib uninstall-cli uninstall-udev ## remove them

install-module: $(MODULE) install-modules-load ## only hmm_mirror.ko (+depmod) and the modules-load.d file
	@test -n "$(KREL)" || { echo "install-module: no kernel release (KDIR='$(KDIR)')"; exit 1; }
	install -d $(DESTDIR)$(MODULEDIR)
	install -m 0644 $(MODULE) $(DESTDIR)$(MODULEDIR)/hmm_mirror.ko
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KREL); \
	else echo "install-module: DESTDIR set, run 'depmod -a $(KREL)' on the target"; fi

uninstall-module: uninstall-modules-load ## remove them
	rm -f $(DESTDIR)$(MODULEDIR)/hmm_mirror.ko
	-rmdir $(DESTDIR)$(MODULEDIR) 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && [ -n "$(KREL)" ] && [ -d /lib/modules/$(KREL) ]; then \
		depmod -a $(KREL); fi

# modules-load.d, not a devname: alias: see packaging/README.md.
install-modules-load: ## only the modules-load.d file that loads hmm_mirror at boot
	install -d $(DESTDIR)$(MODULESLOADDIR)
	install -m 0644 $(MODULES_LOAD_CONF) $(DESTDIR)$(MODULESLOADDIR)/hmm_mirror.conf

uninstall-modules-load: ## remove it
	rm -f $(DESTDIR)$(MODULESLOADDIR)/hmm_mirror.conf

install-udev: ## only the udev rule and the sysusers.d file (+ the hmm_mirror group)
	install -d $(DESTDIR)$(UDEVRULESDIR) $(DESTDIR)$(SYSUSERSDIR)
	install -m 0644 $(UDEV_RULE) $(DESTDIR)$(UDEVRULESDIR)/
	install -m 0644 $(SYSUSERS_CONF) $(DESTDIR)$(SYSUSERSDIR)/hmm-mirror.conf
	@if [ -z "$(DESTDIR)" ]; then \
		getent group hmm_mirror >/dev/null || \
		systemd-sysusers $(SYSUSERSDIR)/hmm-mirror.conf 2>/dev/null || \
		groupadd --system hmm_mirror; \
		if command -v udevadm >/dev/null && [ -d /run/udev ]; then \
			udevadm control --reload-rules; \
			[ ! -e /sys/class/misc/hmm_mirror ] || \
				udevadm trigger --action=change /sys/class/misc/hmm_mirror; \
		fi; \
	fi

uninstall-udev: ## remove them
	rm -f $(DESTDIR)$(UDEVRULESDIR)/$(notdir $(UDEV_RULE)) \
		$(DESTDIR)$(SYSUSERSDIR)/hmm-mirror.conf
	@if [ -z "$(DESTDIR)" ] && command -v udevadm >/dev/null && [ -d /run/udev ]; then \
		udevadm control --reload-rules; fi

dkms-src: ## stage the module's DKMS source tree (/usr/src/hmm-mirror-VERSION)
	install -d $(DESTDIR)$(DKMS_SRCDIR)/kmod $(DESTDIR)$(DKMS_SRCDIR)/core \
		$(DESTDIR)$(DKMS_SRCDIR)/abi
	for f in $(DKMS_FILES); do install -D -m 0644 $$f $(DESTDIR)$(DKMS_SRCDIR)/$$f || exit 1; done
	sed 's|@VERSION@|$(HMM_MIRROR_VERSION)|' packaging/dkms.conf.in \
		> $(DESTDIR)$(DKMS_SRCDIR)/dkms.conf

install-dkms: dkms-src install-userspace install-modules-load ## install-userspace, and the module through DKMS (loaded at boot)
	@if [ -z "$(DESTDIR)" ]; then \
		dkms add -m $(DKMS_NAME) -v $(HMM_MIRROR_VERSION) && \
		dkms install -m $(DKMS_NAME) -v $(HMM_MIRROR_VERSION) -k $(KREL); \
	else echo "install-dkms: DESTDIR set, run 'dkms add -m $(DKMS_NAME) -v $(HMM_MIRROR_VERSION)' on the target"; fi

uninstall-dkms: uninstall-userspace uninstall-modules-load ## dkms remove, the source tree, and what install-dkms put in place
	-@if [ -z "$(DESTDIR)" ]; then dkms remove -m $(DKMS_NAME) -v $(HMM_MIRROR_VERSION) --all; fi
	rm -rf $(DESTDIR)$(DKMS_SRCDIR)

# The real thing, for every kernel of kernels.list (KERNELS= a subset): the
# staged source tree is added, built and installed by dkms in a build root
# of the kernel's Debian release (headers and dkms installed there by apt,
# as a user of that release has them; the host's dkms state is not touched),
# then the module dkms installed is booted on its kernel and `hmm-mirror
# info` run against it.  Needs root (chroot) and the Debian archive.
DKMS_TEST_DIR := $(BUILD)/dkms
dkms-test: $(CLI_BIN) ## dkms add/build/install for each kernel of kernels.list, then boot each module (KERNELS= a subset)
	@rm -rf $(DKMS_TEST_DIR) && mkdir -p $(DKMS_TEST_DIR)
	@$(MAKE) --no-print-directory dkms-src DESTDIR=$(DKMS_TEST_DIR)/stage >/dev/null
	@list=$$(scripts/debian-kernels.sh list $(KERNELS)) || exit 1; \
	pass=0; fail=0; \
	while read -r name rel kdir; do \
		out=$(DKMS_TEST_DIR)/$$name; \
		if ! scripts/debian-kernels.sh dkms $$name $(DKMS_TEST_DIR)/stage$(DKMS_SRCDIR) $$out; then \
			echo "dkms-test: $$name: FAIL (dkms)"; fail=$$((fail + 1)); continue; fi; \
		eval "$$(scripts/debian-kernels.sh env $$name)"; \
		if KDIR=$$KDIR KERNEL=$$KERNEL VM_MODDIR=$$VM_MODDIR $(VM) -q --timeout 300 \
			--module $$out/hmm_mirror.ko --scratch $$out/vm -- \
			sh -c '$(CLI_BIN) info >"$$VM_SCRATCH/info.txt"' >$$out/vm.log 2>&1 && \
			grep -q "^  ABI version " $$out/vm/info.txt; then \
			echo "dkms-test: $$name: PASS: dkms installed $$rel's module, it loads and answers HANDSHAKE"; \
			pass=$$((pass + 1)); \
		else echo "dkms-test: $$name: FAIL (boot; see $$out/vm.log)"; fail=$$((fail + 1)); fi; \
	done <<<"$$list"; \
	echo "dkms-test: $$pass passed, $$fail failed"; \
	[ $$fail -eq 0 ]

packaging-test: $(LIBHMM_SO) $(LIBHMM_A) $(CLI_BIN) $(MODULE) ## install and uninstall into a staging DESTDIR (part of make test)
	@mkdir -p $(RESULTS)
	@tests/packaging/install_test.sh "$(MAKE)" $(BUILD)/stage $(KDIR) $(KREL) \
		$(HMM_MIRROR_VERSION) $(LIBHMM_VERSION) $(RESULTS)/packaging_install.counts

HOST_TEST_TARGETS += packaging-test
