# SPDX-License-Identifier: GPL-2.0 OR MIT
#
# fuzz.mk - libFuzzer targets of the portable core, built with clang; include
# after core/core.mk and tests/core/unit/unit.mk.
#
#   FUZZ_BINS   $(BUILD)/tests/core/fuzz/<name>_fuzz (ASan + UBSan)
#   fuzz-test   run each for FUZZ_TEST_SECONDS from the checked-in corpus
#               (part of make test); result $(BUILD)/results/fuzz_<name>.counts
#   fuzz        run each for FUZZ_SECONDS, growing $(BUILD)/fuzz/<name>/
#
# A crash leaves its input in $(BUILD)/fuzz/ (crash-*); run the target on
# that file alone to reproduce it.  The fuzzers link tests/core/unit/test_env.cc,
# whose allocator can be told to fail, and check against the unit tests'
# model, so a fuzzer finds what the unit tests would call a difference.

FUZZ_DIR := tests/core/fuzz
FUZZ_NAMES := dpt event_queue
FUZZ_CC ?= clang-14
FUZZ_CXX ?= clang++-14
FUZZ_SAN := $(SAN_FLAGS)
FUZZ_CFLAGS := -std=c11 -Wall -Wextra -Werror -O1 -g $(FUZZ_SAN) \
	-fsanitize=fuzzer-no-link
FUZZ_CXXFLAGS := -std=c++17 -Wall -Wextra -Werror -O1 -g $(FUZZ_SAN) \
	-fsanitize=fuzzer-no-link -MMD -MP
FUZZ_TEST_SECONDS ?= 30
FUZZ_SECONDS ?= 600
FUZZ_RUN_ENV := ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1

FUZZ_OBJ_DIR := $(BUILD)/tests/core/fuzz/obj
FUZZ_BINS := $(patsubst %,$(BUILD)/tests/core/fuzz/%_fuzz,$(FUZZ_NAMES))
# The core, and the unit tests' allocator, instrumented for coverage.
FUZZ_SUPPORT := $(FUZZ_OBJ_DIR)/dpt.o $(FUZZ_OBJ_DIR)/event_queue.o \
	$(FUZZ_OBJ_DIR)/test_env.o

.PHONY: fuzz fuzz-test
# Objects are kept between builds, not removed as intermediates.
.SECONDARY: $(FUZZ_SUPPORT) $(patsubst %,$(FUZZ_OBJ_DIR)/%_fuzz.o,$(FUZZ_NAMES))
HOST_TEST_TARGETS += fuzz-test

$(FUZZ_OBJ_DIR)/%.o: $(CORE_DIR)/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(CORE_INC) -c $< -o $@

$(FUZZ_OBJ_DIR)/test_env.o: $(UNIT_DIR)/test_env.cc
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) $(CORE_INC) -c $< -o $@

$(FUZZ_OBJ_DIR)/%_fuzz.o: $(FUZZ_DIR)/%_fuzz.cc
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) $(CORE_INC) -I$(UNIT_DIR) -c $< -o $@

$(BUILD)/tests/core/fuzz/%_fuzz: $(FUZZ_OBJ_DIR)/%_fuzz.o $(FUZZ_SUPPORT)
	$(FUZZ_CXX) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -lgtest -pthread

# fuzz_run NAME SECONDS: run one target; a .counts result either way.
define fuzz_run
	mkdir -p $(BUILD)/fuzz/$(1) $(UNIT_RESULTS); \
	log=$(BUILD)/fuzz/$(1).log; \
	echo "fuzz $(1): $(2) s (log $$log)"; \
	if $(FUZZ_RUN_ENV) $(BUILD)/tests/core/fuzz/$(1)_fuzz -max_total_time=$(2) \
		-artifact_prefix=$(BUILD)/fuzz/ -print_final_stats=1 \
		$(BUILD)/fuzz/$(1) $(wildcard $(FUZZ_DIR)/corpus/$(1)) >$$log 2>&1; then \
		grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' $$log | tail -2; \
		echo "1 0 0" > $(UNIT_RESULTS)/fuzz_$(1).counts; \
	else \
		tail -40 $$log; \
		echo "fuzz $(1): FAILED; the input is in $(BUILD)/fuzz/ (crash-*)"; \
		echo "0 1 0" > $(UNIT_RESULTS)/fuzz_$(1).counts; rc=1; \
	fi
endef

##@ Single suites and test builds
fuzz-test: $(FUZZ_BINS) ## each core fuzzer for FUZZ_TEST_SECONDS (30; part of make test)
	@rc=0; $(foreach n,$(FUZZ_NAMES),$(call fuzz_run,$(n),$(FUZZ_TEST_SECONDS));) exit $$rc

##@ Development
fuzz: $(FUZZ_BINS) ## each core fuzzer for FUZZ_SECONDS (600), growing build/fuzz/
	@rc=0; $(foreach n,$(FUZZ_NAMES),$(call fuzz_run,$(n),$(FUZZ_SECONDS));) exit $$rc

-include $(FUZZ_OBJ_DIR)/*.d
