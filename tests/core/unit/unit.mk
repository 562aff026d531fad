# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# unit.mk - GoogleTest unit tests of the portable core; include after
# core/core.mk.
#
#   UNIT_BIN      $(BUILD)/tests/core_unit       against CORE_LIB
#   UNIT_SAN_BIN  $(BUILD)/tests/core_unit_san   ASan + UBSan, CORE_SAN_LIB
#   unit          build both
#   unit-test     run both; results in $(BUILD)/results/unit{,_san}.json
#
# The tests link tests/core/unit/test_env.cc, their own dpt_table_alloc() and
# dpt_table_free(), ahead of the core library, so host_env.o is not used.

UNIT_DIR := tests/core/unit
UNIT_SRCS := $(UNIT_DIR)/dpt_test.cc $(UNIT_DIR)/event_queue_test.cc \
	$(UNIT_DIR)/test_env.cc
UNIT_CXXFLAGS := -std=c++17 -Wall -Wextra -Werror -O2 -g -MMD -MP
UNIT_LDLIBS := -lgtest -lgtest_main -pthread
UNIT_RESULTS := $(BUILD)/results
# Sanitizer run-time options; override for environments without ptrace.
UNIT_SAN_ENV ?= ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

UNIT_OBJS := $(patsubst $(UNIT_DIR)/%.cc,$(BUILD)/tests/core/unit/%.o,$(UNIT_SRCS))
UNIT_SAN_OBJS := $(patsubst $(UNIT_DIR)/%.cc,$(BUILD)/tests/core/unit-san/%.o,$(UNIT_SRCS))
UNIT_BIN := $(BUILD)/tests/core_unit
UNIT_SAN_BIN := $(BUILD)/tests/core_unit_san

.PHONY: unit unit-test
##@ Single suites and test builds
unit: $(UNIT_BIN) $(UNIT_SAN_BIN) ## build the core unit tests (plain and ASan/UBSan)

$(eval $(call san_pair,$(UNIT_DIR)/%.cc,$(BUILD)/tests/core/unit/%.o,$(BUILD)/tests/core/unit-san/%.o,$$(CXX) $$(UNIT_CXXFLAGS) $$(CORE_INC)))

$(UNIT_BIN): $(UNIT_OBJS) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CXX) -o $@ $(UNIT_OBJS) $(CORE_LIB) $(UNIT_LDLIBS)

$(UNIT_SAN_BIN): $(UNIT_SAN_OBJS) $(CORE_SAN_LIB)
	@mkdir -p $(@D)
	$(CXX) $(SAN_FLAGS) -o $@ $(UNIT_SAN_OBJS) $(CORE_SAN_LIB) \
		$(UNIT_LDLIBS)

unit-test: $(UNIT_BIN) $(UNIT_SAN_BIN) ## run them (part of make test)
	@mkdir -p $(UNIT_RESULTS)
	@rc=0; \
	$(UNIT_BIN) --gtest_output=json:$(UNIT_RESULTS)/unit.json || rc=1; \
	$(UNIT_SAN_ENV) $(UNIT_SAN_BIN) \
		--gtest_output=json:$(UNIT_RESULTS)/unit_san.json || rc=1; \
	exit $$rc

-include $(UNIT_OBJS:.o=.d) $(UNIT_SAN_OBJS:.o=.d)
