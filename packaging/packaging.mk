# SPDX-License-Identifier: MIT
#
# packaging.mk - installing hmm-mirror, and its DKMS source tree; included
# from cli/cli.mk (after the library and tool rules).
#
#   make install     the library, header, pkg-config file, the hmm-mirror
#                    tool, hmm_mirror.ko for KDIR's kernel (+ depmod) and
#                    the udev rule (+ the hmm_mirror group)
#   make uninstall   removes them again (the group stays)
#   make install-dkms / uninstall-dkms   the module source under
#                    /usr/src/hmm-mirror-VERSION, registered with dkms
#                    (built and installed for KDIR's kernel)
#   make dkms-src    only stage that source tree (under DESTDIR)
#   make dkms-test   dkms add + build for KDIR's kernel in /usr/src, then
#                    remove it again (needs root and dkms)
#   packaging-test   host test (part of make test): install and uninstall
#                    into a staging DESTDIR, pkg-config, compile and link
#                    against the staged library, build the staged DKMS tree
#
# Variables: DESTDIR (staging root; depmod, ldconfig, groupadd and udevadm
# are skipped when it is set), PREFIX (/usr/local), BINDIR, LIBDIR,
# INCLUDEDIR, PKGCONFIGDIR, UDEVRULESDIR (/etc/udev/rules.d; packages use
# /usr/lib/udev/rules.d), MODULEDIR (/lib/modules/<release>/extra),
# The project version HMM_MIRROR_VERSION (the tool, the module, dkms) comes
# from the file VERSION (top-level Makefile).

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
UDEVRULESDIR ?= /etc/udev/rules.d
MODULEDIR ?= /lib/modules/$(KREL)/extra
DKMS_NAME := hmm-mirror
DKMS_SRCDIR ?= /usr/src/$(DKMS_NAME)-$(HMM_MIRROR_VERSION)
UDEV_RULE := packaging/99-hmm-mirror.rules
# What the module build needs, and nothing else (see kmod/Kbuild).
DKMS_FILES := $(wildcard kmod/*.c kmod/*.h) kmod/Kbuild core/core_env.h \
	core/dpt.c core/dpt.h core/event_queue.c core/event_queue.h \
	abi/hmm_mirror.h VERSION

.PHONY: install uninstall install-module uninstall-module install-udev \
	uninstall-udev dkms-src install-dkms uninstall-dkms dkms-test \
	packaging-test

##@ Install
install: install-lib install-cli install-module install-udev ## library, header, .pc, tool, module (+depmod), udev rule (+group)
uninstall: uninstall-lib uninstall-cli uninstall-module uninstall-udev ## remove what make install put in place

install-module: $(MODULE) ## only hmm_mirror.ko (+depmod)
	@test -n "$(KREL)" || { echo "install-module: no kernel release (KDIR='$(KDIR)')"; exit 1; }
	install -d $(DESTDIR)$(MODULEDIR)
	install -m 0644 $(MODULE) $(DESTDIR)$(MODULEDIR)/hmm_mirror.ko
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KREL); \
	else echo "install-module: DESTDIR set, run 'depmod -a $(KREL)' on the target"; fi

uninstall-module: ## remove it
	rm -f $(DESTDIR)$(MODULEDIR)/hmm_mirror.ko
	-rmdir $(DESTDIR)$(MODULEDIR) 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && [ -n "$(KREL)" ] && [ -d /lib/modules/$(KREL) ]; then \
		depmod -a $(KREL); fi

install-udev: ## only the udev rule (+ the hmm_mirror group)
	install -d $(DESTDIR)$(UDEVRULESDIR)
	install -m 0644 $(UDEV_RULE) $(DESTDIR)$(UDEVRULESDIR)/
	@if [ -z "$(DESTDIR)" ]; then \
		getent group hmm_mirror >/dev/null || groupadd --system hmm_mirror; \
		if command -v udevadm >/dev/null && [ -d /run/udev ]; then \
			udevadm control --reload-rules; \
			[ ! -e /sys/class/misc/hmm_mirror ] || \
				udevadm trigger --action=change /sys/class/misc/hmm_mirror; \
		fi; \
	fi

uninstall-udev: ## remove it
	rm -f $(DESTDIR)$(UDEVRULESDIR)/$(notdir $(UDEV_RULE))
	@if [ -z "$(DESTDIR)" ] && command -v udevadm >/dev/null && [ -d /run/udev ]; then \
		udevadm control --reload-rules; fi

dkms-src: ## stage the module's DKMS source tree (/usr/src/hmm-mirror-VERSION)
	install -d $(DESTDIR)$(DKMS_SRCDIR)/kmod $(DESTDIR)$(DKMS_SRCDIR)/core \
		$(DESTDIR)$(DKMS_SRCDIR)/abi
	for f in $(DKMS_FILES); do install -m 0644 $$f $(DESTDIR)$(DKMS_SRCDIR)/$$f || exit 1; done
	sed 's|@VERSION@|$(HMM_MIRROR_VERSION)|' packaging/dkms.conf.in \
		> $(DESTDIR)$(DKMS_SRCDIR)/dkms.conf

install-dkms: dkms-src ## the DKMS source tree, added to dkms and installed for KDIR's kernel
	@if [ -z "$(DESTDIR)" ]; then \
		dkms add -m $(DKMS_NAME) -v $(HMM_MIRROR_VERSION) && \
		dkms install -m $(DKMS_NAME) -v $(HMM_MIRROR_VERSION) -k $(KREL); \
	else echo "install-dkms: DESTDIR set, run 'dkms add -m $(DKMS_NAME) -v $(HMM_MIRROR_VERSION)' on the target"; fi

uninstall-dkms: ## dkms remove, and the source tree
	-@if [ -z "$(DESTDIR)" ]; then dkms remove -m $(DKMS_NAME) -v $(HMM_MIRROR_VERSION) --all; fi
	rm -rf $(DESTDIR)$(DKMS_SRCDIR)

# The real thing, then undone: needs root, dkms and KDIR's headers.
##@ Single suites and test builds
dkms-test: ## dkms add and build for KDIR's kernel, then remove (root, dkms)
	@command -v dkms >/dev/null || { echo "dkms-test: dkms is not installed (apt-get install dkms)"; exit 1; }
	@test ! -e $(DKMS_SRCDIR) || { echo "dkms-test: $(DKMS_SRCDIR) exists already; 'make uninstall-dkms' first"; exit 1; }
	@$(MAKE) --no-print-directory dkms-src DESTDIR=
	@rc=0; \
	dkms add -m $(DKMS_NAME) -v $(HMM_MIRROR_VERSION) && \
	dkms build -m $(DKMS_NAME) -v $(HMM_MIRROR_VERSION) -k $(KREL) || rc=1; \
	ko=/var/lib/dkms/$(DKMS_NAME)/$(HMM_MIRROR_VERSION)/$(KREL)/x86_64/module/hmm_mirror.ko; \
	[ -f $$ko ] || ko=$$ko.xz; \
	if [ $$rc -eq 0 ] && modinfo -F vermagic $$ko | grep -q "^$(KREL) "; then \
		echo "dkms-test: PASS: built $$ko for $(KREL)"; \
	else echo "dkms-test: FAIL"; rc=1; fi; \
	dkms remove -m $(DKMS_NAME) -v $(HMM_MIRROR_VERSION) --all >/dev/null || rc=1; \
	rm -rf $(DKMS_SRCDIR); \
	exit $$rc

packaging-test: $(LIBHMM_SO) $(LIBHMM_A) $(CLI_BIN) $(MODULE) ## install and uninstall into a staging DESTDIR (part of make test)
	@mkdir -p $(RESULTS)
	@packaging/tests/install-test.sh "$(MAKE)" $(BUILD)/stage $(KDIR) $(KREL) \
		$(HMM_MIRROR_VERSION) $(LIBHMM_VERSION) $(RESULTS)/packaging_install.counts

HOST_TEST_TARGETS += packaging-test
