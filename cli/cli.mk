# SPDX-License-Identifier: MIT
#
# cli.mk - the hmm-mirror command-line tool and its VM test suite;
# included by the top-level Makefile after bindings/c/libhmm_mirror.mk.
#
#   CLI_BIN         $(BUILD)/bin/hmm-mirror, linked to the shared library
#                   (RUNPATH $ORIGIN/../lib: finds $(BUILD)/lib in the build
#                   tree and $(PREFIX)/lib once installed)
#   cli             build the tool
#   CLI_UNIT_BIN    host unit tests of the tool's helpers; cli-unit-test runs
#                   them (results in $(RESULTS)/cli_unit.json)
#   CLI_MAN         $(BUILD)/man/man1/hmm-mirror.1, from cli/hmm-mirror.1.in
#   install-cli, uninstall-cli   the tool under DESTDIR + BINDIR, its man
#                   page and its bash and zsh completion
#
# The installed tool is linked again at install time, with a RUNPATH that
# suits LIBDIR (CLI_INSTALL_RUNPATH): none when LIBDIR is one the dynamic
# loader searches anyway (/usr/lib, /usr/lib/<multiarch>, /lib, ...), so a
# Debian-style PREFIX=/usr install carries no RUNPATH; $ORIGIN/../lib when
# LIBDIR is BINDIR/../lib (the relocatable default, /usr/local); else
# LIBDIR itself.  The build-tree tool keeps $ORIGIN/../lib (build/lib).
#
# tests/cli/vm/cli_test.py runs in the VM (VM_SUITES); it finds the tool and
# the target (tests/target/target.mk) through HMM_CLI and HMM_TARGET (the
# VM runner passes HMM_* variables into the guest).  packaging/packaging.mk (install, uninstall,
# dkms, the project version HMM_MIRROR_VERSION) is included by the top-level Makefile.


CLI_DIR := cli
CLI_SRCS := $(sort $(wildcard $(CLI_DIR)/*.c))
CLI_OBJS := $(patsubst $(CLI_DIR)/%.c,$(BUILD)/cli/%.o,$(CLI_SRCS))
CLI_BIN := $(BUILD)/bin/hmm-mirror
CLI_CFLAGS = -std=c11 -Wall -Wextra -Werror -Wshadow -Wformat=2 \
	-Wstrict-prototypes -Wmissing-prototypes -O2 -g -D_GNU_SOURCE -MMD -MP \
	-DHMM_MIRROR_VERSION='"$(HMM_MIRROR_VERSION)"'

comma := ,
CLI_INSTALL_BIN := $(BUILD)/install/hmm-mirror
CLI_MAN := $(BUILD)/man/man1/hmm-mirror.1
CLI_BASH_COMPLETION := $(CLI_DIR)/completion/hmm-mirror.bash
CLI_ZSH_COMPLETION := $(CLI_DIR)/completion/_hmm-mirror
CLI_MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
CLI_SYSTEM_LIBDIRS := /lib /usr/lib /lib64 /usr/lib64 \
	$(if $(CLI_MULTIARCH),/lib/$(CLI_MULTIARCH) /usr/lib/$(CLI_MULTIARCH))
CLI_INSTALL_RUNPATH ?= $(if $(filter $(CLI_SYSTEM_LIBDIRS),$(patsubst %/,%,$(LIBDIR))),,$(if \
	$(filter $(abspath $(BINDIR)/../lib),$(abspath $(LIBDIR))),$$ORIGIN/../lib,$(LIBDIR)))

CLI_TEST := tests/cli/vm/cli_test.py

.PHONY: cli install-cli uninstall-cli
##@ Build (make with no target builds all)
cli: $(CLI_BIN) $(CLI_MAN) ## the hmm-mirror tool (build/bin/hmm-mirror) and its man page
host: cli
man: $(CLI_MAN)

# The date is SOURCE_DATE_EPOCH's when set (reproducible builds), else the
# source's.
$(CLI_MAN): $(CLI_DIR)/hmm-mirror.1.in VERSION
	@mkdir -p $(@D)
	sed -e 's|@VERSION@|$(HMM_MIRROR_VERSION)|' \
		-e "s|@DATE@|$$(date -u -d @$${SOURCE_DATE_EPOCH:-$$(stat -c %Y $<)} +%F)|" \
		$< > $@

$(BUILD)/cli/%.o: $(CLI_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(CLI_CFLAGS) $(LIBHMM_INC) -c $< -o $@

$(CLI_BIN): $(CLI_OBJS) $(LIBHMM_SO) $(LIBHMM_SO_LINKS)
	@mkdir -p $(@D)
	$(CC) -o $@ $(CLI_OBJS) $(LIBHMM_LDFLAGS) -Wl,-rpath,'$$ORIGIN/../lib' \
		$(LIBHMM_LDLIBS)

# Host unit tests of the helpers (everything but main.o), with the
# library's fake device for SNAPSHOT in pieces.
CLI_UNIT_BIN := $(BUILD)/tests/cli_unit
CLI_UNIT_OBJS := $(BUILD)/tests/cli/unit/cli_unit_test.o \
	$(filter-out $(BUILD)/cli/main.o,$(CLI_OBJS)) \
	$(BUILD)/libhmm_mirror/unit/fake_device.c.o

$(BUILD)/tests/cli/unit/cli_unit_test.o: tests/cli/unit/cli_unit_test.cc
	@mkdir -p $(@D)
	$(CXX) $(LIBHMM_TEST_CXXFLAGS) -I$(CLI_DIR) -I$(LIBHMM_TEST_DIR)/unit \
		-Iabi $(LIBHMM_INC) -c $< -o $@

$(CLI_UNIT_BIN): $(CLI_UNIT_OBJS) $(LIBHMM_A)
	@mkdir -p $(@D)
	$(CXX) -pthread -o $@ $(CLI_UNIT_OBJS) $(LIBHMM_A) $(LIBHMM_TEST_LDLIBS)

.PHONY: cli-unit-test
##@ Single suites and test builds
cli-unit-test: $(CLI_UNIT_BIN) ## the tool's host unit tests (part of make test)
	@mkdir -p $(RESULTS)
	$(CLI_UNIT_BIN) --gtest_output=json:$(RESULTS)/cli_unit.json

host: $(CLI_UNIT_BIN)
HOST_TEST_TARGETS += cli-unit-test

# The suite is a script: make builds what it runs before the VM boots.
$(CLI_TEST): $(CLI_BIN) $(TARGET_BIN)
VM_SUITES += $(CLI_TEST)
export HMM_CLI := $(CLI_BIN)

##@ Install
install-cli: $(CLI_BIN) $(CLI_MAN) ## only the hmm-mirror tool, hmm-mirror(1) and its bash and zsh completion
	@mkdir -p $(dir $(CLI_INSTALL_BIN))
	$(CC) -o $(CLI_INSTALL_BIN) $(CLI_OBJS) $(LIBHMM_LDFLAGS) \
		$(if $(CLI_INSTALL_RUNPATH),-Wl$(comma)-rpath$(comma)'$(CLI_INSTALL_RUNPATH)') \
		$(LIBHMM_LDLIBS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0755 $(CLI_INSTALL_BIN) $(DESTDIR)$(BINDIR)/hmm-mirror
	install -m 0644 $(CLI_MAN) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(CLI_BASH_COMPLETION) $(DESTDIR)$(BASHCOMPDIR)/hmm-mirror
	install -m 0644 $(CLI_ZSH_COMPLETION) $(DESTDIR)$(ZSHCOMPDIR)/_hmm-mirror

uninstall-cli: ## remove them
	rm -f $(DESTDIR)$(BINDIR)/hmm-mirror $(DESTDIR)$(MANDIR)/man1/hmm-mirror.1 \
		$(DESTDIR)$(BASHCOMPDIR)/hmm-mirror $(DESTDIR)$(ZSHCOMPDIR)/_hmm-mirror

-include $(CLI_OBJS:.o=.d) $(BUILD)/tests/cli/unit/cli_unit_test.d
