# Example programs, built against the ABI header only.
DEMO_BIN := $(BUILD)/examples/demo
EXAMPLES := $(DEMO_BIN)

.PHONY: examples
##@ Build (make with no target builds all)
examples: $(EXAMPLES) ## the example programs (examples/demo.c: what make demo runs)

$(DEMO_BIN): examples/demo.c abi/hmm_mirror.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -g -Iabi -o $@ $<
