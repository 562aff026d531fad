# SPDX-License-Identifier: MIT
#
# libhmm_mirror.mk - libhmm_mirror, the C library for /dev/hmm_mirror;
# included by the top-level Makefile (which sets BUILD, CC, CXX, RESULTS).
#
#   LIBHMM_SO         $(BUILD)/lib/libhmm_mirror.so.X.Y.Z (soname .so.1),
#                     with the .so.1 and .so links beside it
#   LIBHMM_A          $(BUILD)/lib/libhmm_mirror.a
#   LIBHMM_SAN_A      the static library built with ASan + UBSan
#   LIBHMM_INC        -I flags for users of the library header
#   LIBHMM_UNIT_BIN   host unit tests (fake device), and _SAN_BIN under
#                     ASan + UBSan
#   LIBHMM_VM_BIN     tests of every call against the real module (VM suite)
#   lib               build the libraries
#   lib-unit-test     run the host tests: results in $(RESULTS)/
#                     libhmm_mirror_unit{,_san}.json and
#                     libhmm_mirror_symbols.counts
#   LIBHMM_MAN_STAMP  $(BUILD)/man/man3/: libhmm_mirror.3 and a page per
#                     public function, made from the header's comments by
#                     scripts/gen-man3.py (which fails on a function
#                     without one, so no function ships without its page)
#   install-lib, uninstall-lib   library, header, the kernel ABI header
#                     (hmm_mirror/hmm_mirror.h), pkg-config file and section
#                     3 man pages under DESTDIR + PREFIX (default /usr/local)

LIBHMM_DIR := bindings/c
LIBHMM_TEST_DIR := tests/libhmm_mirror
LIBHMM_HEADER := $(LIBHMM_DIR)/include/hmm_mirror/libhmm_mirror.h
LIBHMM_VERSION := $(shell sed -n 's/^\#define HMM_MIRROR_LIB_VERSION_[A-Z]*[[:space:]]*\([0-9]*\)$$/\1/p' $(LIBHMM_HEADER) | paste -sd.)
LIBHMM_MAJOR := $(firstword $(subst ., ,$(LIBHMM_VERSION)))
LIBHMM_SONAME := libhmm_mirror.so.$(LIBHMM_MAJOR)
LIBHMM_MAP := $(LIBHMM_DIR)/libhmm_mirror.map

LIBHMM_SRCS := $(sort $(wildcard $(LIBHMM_DIR)/src/*.c))
# The library header includes the ABI header beside it, as installed:
# abi/ stands in for that in the source tree.
LIBHMM_INC := -I$(CURDIR)/$(LIBHMM_DIR)/include -I$(CURDIR)/abi
LIBHMM_CFLAGS := -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes -O2 -g -fPIC \
	-fvisibility=hidden -D_GNU_SOURCE -MMD -MP
LIBHMM_CPPFLAGS := $(LIBHMM_INC)

LIBHMM_OBJS := $(patsubst $(LIBHMM_DIR)/src/%.c,$(BUILD)/libhmm_mirror/obj/%.o,$(LIBHMM_SRCS))
LIBHMM_SAN_OBJS := $(patsubst $(LIBHMM_DIR)/src/%.c,$(BUILD)/libhmm_mirror/obj-san/%.o,$(LIBHMM_SRCS))
LIBHMM_LIBDIR := $(BUILD)/lib
LIBHMM_SO := $(LIBHMM_LIBDIR)/libhmm_mirror.so.$(LIBHMM_VERSION)
LIBHMM_SO_LINKS := $(LIBHMM_LIBDIR)/$(LIBHMM_SONAME) $(LIBHMM_LIBDIR)/libhmm_mirror.so
LIBHMM_A := $(LIBHMM_LIBDIR)/libhmm_mirror.a
LIBHMM_SAN_A := $(BUILD)/libhmm_mirror/san/libhmm_mirror.a
# What a program linking the shared library from the build tree needs.
LIBHMM_LDFLAGS := -L$(LIBHMM_LIBDIR)
LIBHMM_LDLIBS := -lhmm_mirror

LIBHMM_MAN_DIR := $(BUILD)/man/man3
LIBHMM_MAN_STAMP := $(LIBHMM_MAN_DIR)/.stamp
LIBHMM_MAN_GEN := scripts/gen-man3.py

.PHONY: lib lib-unit-test install-lib uninstall-lib man
##@ Build (make with no target builds all)
lib: $(LIBHMM_SO) $(LIBHMM_SO_LINKS) $(LIBHMM_A) $(LIBHMM_MAN_STAMP) ## libhmm_mirror, shared and static (build/lib/), and its man pages
host: lib
man: $(LIBHMM_MAN_STAMP) ## the man pages only (build/man/): hmm-mirror(1), libhmm_mirror(3), one per function

$(LIBHMM_MAN_STAMP): $(LIBHMM_HEADER) $(LIBHMM_MAN_GEN)
	rm -rf $(LIBHMM_MAN_DIR)
	python3 $(LIBHMM_MAN_GEN) $(LIBHMM_HEADER) $(LIBHMM_VERSION) $(LIBHMM_MAN_DIR)
	@touch $@

$(eval $(call san_pair,$(LIBHMM_DIR)/src/%.c,$(BUILD)/libhmm_mirror/obj/%.o,$(BUILD)/libhmm_mirror/obj-san/%.o,$$(CC) $$(LIBHMM_CFLAGS) $$(LIBHMM_CPPFLAGS)))

$(LIBHMM_SO): $(LIBHMM_OBJS) $(LIBHMM_MAP)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,$(LIBHMM_SONAME) \
		-Wl,--version-script=$(LIBHMM_MAP) -Wl,-z,defs \
		-Wl,-z,relro -Wl,-z,now -o $@ $(LIBHMM_OBJS)

$(LIBHMM_SO_LINKS): $(LIBHMM_SO)
	ln -sf $(notdir $(LIBHMM_SO)) $@

$(LIBHMM_A): $(LIBHMM_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(LIBHMM_SAN_A): $(LIBHMM_SAN_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# --- tests ------------------------------------------------------------------

LIBHMM_TEST_CXXFLAGS := -std=c++17 -Wall -Wextra -Werror -O1 -g -pthread \
	-D_GNU_SOURCE -MMD -MP
LIBHMM_TEST_LDLIBS := -lgtest_main -lgtest -pthread

# Host unit tests: a fake device (the test binary's own ioctl()) behind the
# static library, so argument checks can prove no system call was made.
LIBHMM_UNIT_SRCS := $(sort $(wildcard $(LIBHMM_TEST_DIR)/unit/*.cc))
LIBHMM_UNIT_C_SRCS := $(sort $(wildcard $(LIBHMM_TEST_DIR)/unit/*.c))
LIBHMM_UNIT_OBJS := $(patsubst $(LIBHMM_TEST_DIR)/unit/%,$(BUILD)/libhmm_mirror/unit/%.o,$(LIBHMM_UNIT_SRCS) $(LIBHMM_UNIT_C_SRCS))
LIBHMM_UNIT_SAN_OBJS := $(patsubst $(LIBHMM_TEST_DIR)/unit/%,$(BUILD)/libhmm_mirror/unit-san/%.o,$(LIBHMM_UNIT_SRCS) $(LIBHMM_UNIT_C_SRCS))
LIBHMM_UNIT_BIN := $(BUILD)/tests/libhmm_mirror_unit
LIBHMM_UNIT_SAN_BIN := $(BUILD)/tests/libhmm_mirror_unit_san
LIBHMM_UNIT_SAN_ENV ?= ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

$(eval $(call san_pair,$(LIBHMM_TEST_DIR)/unit/%.cc,$(BUILD)/libhmm_mirror/unit/%.cc.o,$(BUILD)/libhmm_mirror/unit-san/%.cc.o,$$(CXX) $$(LIBHMM_TEST_CXXFLAGS) $$(LIBHMM_CPPFLAGS)))
$(eval $(call san_pair,$(LIBHMM_TEST_DIR)/unit/%.c,$(BUILD)/libhmm_mirror/unit/%.c.o,$(BUILD)/libhmm_mirror/unit-san/%.c.o,$$(CC) $$(LIBHMM_CFLAGS) $$(LIBHMM_CPPFLAGS)))

$(LIBHMM_UNIT_BIN): $(LIBHMM_UNIT_OBJS) $(LIBHMM_A)
	@mkdir -p $(@D)
	$(CXX) -pthread -o $@ $(LIBHMM_UNIT_OBJS) $(LIBHMM_A) $(LIBHMM_TEST_LDLIBS)

$(LIBHMM_UNIT_SAN_BIN): $(LIBHMM_UNIT_SAN_OBJS) $(LIBHMM_SAN_A)
	@mkdir -p $(@D)
	$(CXX) -pthread $(SAN_FLAGS) -o $@ $(LIBHMM_UNIT_SAN_OBJS) \
		$(LIBHMM_SAN_A) $(LIBHMM_TEST_LDLIBS)

# VM tests: every call against the real module, through the shared library
# (found by RUNPATH: the guest sees the build tree at the same path).
LIBHMM_VM_SRCS := $(sort $(wildcard $(LIBHMM_TEST_DIR)/vm/*.cc))
LIBHMM_VM_OBJS := $(patsubst $(LIBHMM_TEST_DIR)/vm/%.cc,$(BUILD)/libhmm_mirror/vm/%.o,$(LIBHMM_VM_SRCS))
LIBHMM_VM_BIN := $(BUILD)/tests/libhmm_mirror_vm

$(BUILD)/libhmm_mirror/vm/%.o: $(LIBHMM_TEST_DIR)/vm/%.cc
	@mkdir -p $(@D)
	$(CXX) $(LIBHMM_TEST_CXXFLAGS) $(LIBHMM_INC) -c $< -o $@

$(LIBHMM_VM_BIN): $(LIBHMM_VM_OBJS) $(LIBHMM_SO) $(LIBHMM_SO_LINKS)
	@mkdir -p $(@D)
	$(CXX) -pthread -o $@ $(LIBHMM_VM_OBJS) $(LIBHMM_LDFLAGS) \
		-Wl,-rpath,$(LIBHMM_LIBDIR) $(LIBHMM_LDLIBS) $(LIBHMM_TEST_LDLIBS)

host: $(LIBHMM_UNIT_BIN) $(LIBHMM_UNIT_SAN_BIN) $(LIBHMM_VM_BIN)
VM_SUITES += $(LIBHMM_VM_BIN)
HOST_TEST_TARGETS += lib-unit-test

##@ Single suites and test builds
lib-unit-test: $(LIBHMM_UNIT_BIN) $(LIBHMM_UNIT_SAN_BIN) $(LIBHMM_SO) $(LIBHMM_A) ## libhmm_mirror's host tests and symbol check (part of make test)
	@mkdir -p $(RESULTS)
	@rc=0; \
	$(LIBHMM_UNIT_BIN) --gtest_output=json:$(RESULTS)/libhmm_mirror_unit.json || rc=1; \
	$(LIBHMM_UNIT_SAN_ENV) $(LIBHMM_UNIT_SAN_BIN) \
		--gtest_output=json:$(RESULTS)/libhmm_mirror_unit_san.json || rc=1; \
	$(LIBHMM_TEST_DIR)/check-symbols.sh $(LIBHMM_SO) $(LIBHMM_MAP) \
		$(LIBHMM_HEADER) $(RESULTS)/libhmm_mirror_symbols.counts || rc=1; \
	exit $$rc

# --- install ----------------------------------------------------------------

# PREFIX, LIBDIR, INCLUDEDIR, PKGCONFIGDIR: packaging/packaging.mk.
##@ Install
# The kernel ABI header goes beside the library's, as <hmm_mirror/hmm_mirror.h>
# (not <linux/hmm_mirror.h>: /usr/include/linux belongs to the kernel's
# own headers, linux-libc-dev on Debian).
install-lib: $(LIBHMM_SO) $(LIBHMM_A) $(LIBHMM_MAN_STAMP) ## only the library, its header, the ABI header, pkg-config file and man pages
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/hmm_mirror \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3
	install -m 0644 abi/hmm_mirror.h $(DESTDIR)$(INCLUDEDIR)/hmm_mirror/
	install -m 0644 $(LIBHMM_MAN_DIR)/*.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 0755 $(LIBHMM_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIBHMM_SO)) $(DESTDIR)$(LIBDIR)/$(LIBHMM_SONAME)
	ln -sf $(LIBHMM_SONAME) $(DESTDIR)$(LIBDIR)/libhmm_mirror.so
	install -m 0644 $(LIBHMM_A) $(DESTDIR)$(LIBDIR)/
	install -m 0644 $(LIBHMM_HEADER) $(DESTDIR)$(INCLUDEDIR)/hmm_mirror/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(LIBHMM_VERSION)|' \
		$(LIBHMM_DIR)/libhmm_mirror.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libhmm_mirror.pc
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall-lib: ## remove them
	rm -f $(DESTDIR)$(LIBDIR)/$(notdir $(LIBHMM_SO)) \
		$(DESTDIR)$(LIBDIR)/$(LIBHMM_SONAME) \
		$(DESTDIR)$(LIBDIR)/libhmm_mirror.so \
		$(DESTDIR)$(LIBDIR)/libhmm_mirror.a \
		$(DESTDIR)$(INCLUDEDIR)/hmm_mirror/libhmm_mirror.h \
		$(DESTDIR)$(INCLUDEDIR)/hmm_mirror/hmm_mirror.h \
		$(DESTDIR)$(PKGCONFIGDIR)/libhmm_mirror.pc
	for p in $$(python3 $(LIBHMM_MAN_GEN) --list $(LIBHMM_HEADER)); do \
		rm -f $(DESTDIR)$(MANDIR)/man3/$$p.3 || exit 1; done
	-rmdir $(DESTDIR)$(INCLUDEDIR)/hmm_mirror 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

-include $(LIBHMM_OBJS:.o=.d) $(LIBHMM_SAN_OBJS:.o=.d) \
	$(LIBHMM_UNIT_OBJS:.o=.d) $(LIBHMM_UNIT_SAN_OBJS:.o=.d) \
	$(LIBHMM_VM_OBJS:.o=.d)
