# tests/kmod/conformance/conformance.mk - the /dev/hmm_mirror conformance suite.
#
# Included by the top-level Makefile (which defines BUILD ?= build); paths
# are relative to the repository root.  Provides:
#
#   $(CONFORMANCE_BIN)       $(BUILD)/tests/conformance       GoogleTest binary
#   $(CONFORMANCE_SAN_BIN)   $(BUILD)/tests/conformance_san   same, ASan+UBSan
#   conformance, conformance-san, conformance-clean           phony targets
#
# The binaries exercise the real module through raw ioctls; they run inside
# the test VM (tests/vm/run-vm.sh), as root, with hmm_mirror.ko loaded.

BUILD ?= build

CONFORMANCE_SRC_DIR := tests/kmod/conformance
CONFORMANCE_SRCS := $(sort $(wildcard $(CONFORMANCE_SRC_DIR)/*.cc))
CONFORMANCE_OBJ_DIR := $(BUILD)/obj/conformance
CONFORMANCE_OBJS := $(patsubst $(CONFORMANCE_SRC_DIR)/%.cc,$(CONFORMANCE_OBJ_DIR)/%.o,$(CONFORMANCE_SRCS))
CONFORMANCE_SAN_OBJS := $(patsubst $(CONFORMANCE_SRC_DIR)/%.cc,$(CONFORMANCE_OBJ_DIR)/san/%.o,$(CONFORMANCE_SRCS))

CONFORMANCE_BIN := $(BUILD)/tests/conformance
CONFORMANCE_SAN_BIN := $(BUILD)/tests/conformance_san

CONFORMANCE_CXX ?= $(CXX)
CONFORMANCE_CPPFLAGS := -Iabi -I$(CONFORMANCE_SRC_DIR)
CONFORMANCE_CXXFLAGS := -std=c++17 -Wall -Wextra -Werror -g -pthread
CONFORMANCE_OPTFLAGS := -O2
CONFORMANCE_SAN_OPTFLAGS := -O1
CONFORMANCE_LDLIBS := -lgtest_main -lgtest -pthread
# The kernel's test_hmm uapi header, used (not copied) by
# Parity.SnapshotOtherDevicePage: lib/test_hmm_uapi.h of the newest kernel
# source tree the project keeps (HMM_CACHE/src, scripts/kernel/).  Without
# one that test is skipped.  -idirafter: the directory is searched last,
# for that name only.
CONFORMANCE_TEST_HMM_UAPI ?= $(lastword $(sort $(wildcard $(HMM_CACHE)/src/linux-source-*/lib/test_hmm_uapi.h)))
CONFORMANCE_CPPFLAGS += $(if $(CONFORMANCE_TEST_HMM_UAPI),-idirafter $(dir $(CONFORMANCE_TEST_HMM_UAPI)))

# Keep whatever default goal the including Makefile has (or will have).
_conformance_default_goal := $(.DEFAULT_GOAL)

$(CONFORMANCE_BIN): $(CONFORMANCE_OBJS)
	@mkdir -p $(@D)
	$(CONFORMANCE_CXX) $(CONFORMANCE_CXXFLAGS) $(LDFLAGS) -o $@ $^ $(CONFORMANCE_LDLIBS)

$(CONFORMANCE_SAN_BIN): $(CONFORMANCE_SAN_OBJS)
	@mkdir -p $(@D)
	$(CONFORMANCE_CXX) $(CONFORMANCE_CXXFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@ $^ $(CONFORMANCE_LDLIBS)

# The plain build at -O2; the sanitizer one at -O1 (a later -O wins).
$(eval $(call san_pair,$(CONFORMANCE_SRC_DIR)/%.cc,$(CONFORMANCE_OBJ_DIR)/%.o,$(CONFORMANCE_OBJ_DIR)/san/%.o,$$(CONFORMANCE_CXX) $$(CONFORMANCE_CPPFLAGS) $$(CONFORMANCE_CXXFLAGS) $$(CONFORMANCE_OPTFLAGS) -MMD -MP,$$(CONFORMANCE_SAN_OPTFLAGS)))

# The suite once more with the module's deferred invalidation and split
# snapshot walk switched off (a VM suite; the top Makefile adds the
# binaries and this script to VM_SUITES).
export HMM_CONFORMANCE_BIN := $(abspath $(CONFORMANCE_BIN))
CONFORMANCE_SWITCHES_OFF := tests/kmod/conformance/switches_off.sh

.PHONY: conformance conformance-san conformance-clean
conformance: $(CONFORMANCE_BIN)
conformance-san: $(CONFORMANCE_SAN_BIN)
conformance-clean:
	rm -rf $(CONFORMANCE_OBJ_DIR) $(CONFORMANCE_BIN) $(CONFORMANCE_SAN_BIN)

-include $(CONFORMANCE_OBJS:.o=.d) $(CONFORMANCE_SAN_OBJS:.o=.d)

.DEFAULT_GOAL := $(_conformance_default_goal)
