# tests/kmod/torture/torture.mk - the seeded chaos run with its coherence
# checker (tests/kmod/torture/torture.cc); included by the top-level Makefile.
#
#   make torture [SEED=1] [SECONDS=600] [WORKERS=2]
#                      one VM boot (two NUMA nodes) running hmm-torture;
#                      a finding prints the seed to replay
#   make test          runs a short round with a fixed seed (torture.sh,
#                      TORTURE_TEST_SECONDS, default 60) among the VM suites;
#                      make test-debug does the same on the debug kernel

TORTURE_BIN := $(BUILD)/tests/hmm-torture
TORTURE_CXXFLAGS := -std=c++17 -Wall -Wextra -Werror -O2 -g -pthread
SEED ?= 1
SECONDS ?= 600
WORKERS ?= 2
TORTURE_TEST_SECONDS ?= 60

# The VM suite finds the binary through the environment (HMM_* variables
# reach the guest).
export HMM_TORTURE_BIN := $(TORTURE_BIN)
export HMM_TORTURE_SECONDS := $(TORTURE_TEST_SECONDS)
VM_SUITES += tests/kmod/torture/torture.sh

.PHONY: torture torture-bin
torture-bin: $(TORTURE_BIN) ## build hmm-torture (tests/kmod/torture/torture.cc)
$(TORTURE_BIN): tests/kmod/torture/torture.cc abi/hmm_mirror.h
	@mkdir -p $(@D)
	$(CXX) $(TORTURE_CXXFLAGS) -Iabi -o $@ $<

# The VM suite needs the binary built first.
vm-test vm-matrix: $(TORTURE_BIN)

torture: $(MODULE) $(TORTURE_BIN) ## seeded chaos run in the VM: SEED=1 SECONDS=600 WORKERS=2
	@scripts/require.sh vm
	$(VM) --numa --module $(MODULE) --timeout $$(( $(SECONDS) * 2 + 300 )) -- \
		$(TORTURE_BIN) --seed $(SEED) --seconds $(SECONDS) \
		--workers $(WORKERS) --verbose
