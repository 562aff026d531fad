# Example programs, built against the ABI header only.
DEMO_BIN := $(BUILD)/examples/demo
EXAMPLES := $(DEMO_BIN)

$(DEMO_BIN): examples/demo.c abi/hmm_mirror.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -g -Iabi -o $@ $<
