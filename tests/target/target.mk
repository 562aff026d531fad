# SPDX-License-Identifier: MIT
#
# target.mk - the scriptable target process of the tests
# (tests/target/hmm_target.c): the process the CLI tests and the Python
# tests mirror.  Included by the top-level Makefile before cli/cli.mk and
# bindings/python/python.mk, whose suites need it.
#
#   TARGET_BIN   $(BUILD)/tests/hmm_target (built by `make host` and by
#                the rules of the suites that drive it); the tests find it
#                through HMM_TARGET, which the VM runner passes into the
#                guest like every HMM_* variable

TARGET_BIN := $(BUILD)/tests/hmm_target

$(TARGET_BIN): tests/target/hmm_target.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Werror -O1 -g -D_GNU_SOURCE -o $@ $<

host: $(TARGET_BIN)
export HMM_TARGET := $(TARGET_BIN)
