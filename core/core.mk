# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# core.mk - host builds of the portable core, included by the top-level
# Makefile (which sets BUILD and CC).
#
#   CORE_LIB      $(BUILD)/core/libhmm_core.a      plain build
#   CORE_SAN_LIB  $(BUILD)/core-san/libhmm_core.a  ASan + UBSan build
#   CORE_INC      -I flag for core/ headers
#   (link users of CORE_SAN_LIB with the top Makefile's SAN_FLAGS)
#
# The library holds dpt.o and host_env.o.  host_env.o only provides
# dpt_table_alloc() and dpt_table_free(), so a program that defines its
# own (the unit tests) links before the archive and host_env.o stays out.

BUILD ?= build

CORE_DIR := core
CORE_SRCS := $(CORE_DIR)/dpt.c $(CORE_DIR)/event_queue.c $(CORE_DIR)/host_env.c
CORE_INC := -I$(CORE_DIR)
CORE_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g -fPIC -MMD -MP

CORE_OBJS := $(patsubst $(CORE_DIR)/%.c,$(BUILD)/core/%.o,$(CORE_SRCS))
CORE_SAN_OBJS := $(patsubst $(CORE_DIR)/%.c,$(BUILD)/core-san/%.o,$(CORE_SRCS))
CORE_LIB := $(BUILD)/core/libhmm_core.a
CORE_SAN_LIB := $(BUILD)/core-san/libhmm_core.a

.PHONY: core core-san
##@ Single suites and test builds
core: $(CORE_LIB) ## the core as a host library (for the unit tests)
core-san: $(CORE_SAN_LIB) ## the same under ASan + UBSan

$(eval $(call san_pair,$(CORE_DIR)/%.c,$(BUILD)/core/%.o,$(BUILD)/core-san/%.o,$$(CC) $$(CORE_CFLAGS) $$(CORE_INC)))

$(CORE_LIB): $(CORE_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(CORE_SAN_LIB): $(CORE_SAN_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

-include $(CORE_OBJS:.o=.d) $(CORE_SAN_OBJS:.o=.d)
