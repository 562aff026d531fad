# Example programs, built on libhmm_mirror (bindings/c/libhmm_mirror.mk,
# included before this file) as a user builds them: the library's header
# and its shared library (found from build/examples by RUNPATH, as the
# tool finds it).
DEMO_BIN := $(BUILD)/examples/demo
EXAMPLES := $(DEMO_BIN)

.PHONY: examples
##@ Build (make with no target builds all)
examples: $(EXAMPLES) ## the example programs (examples/demo.c: what make demo runs)

$(DEMO_BIN): examples/demo.c $(LIBHMM_HEADER) $(LIBHMM_SO) $(LIBHMM_SO_LINKS)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE $(LIBHMM_INC) -o $@ $< \
		$(LIBHMM_LDFLAGS) -Wl,-rpath,'$$ORIGIN/../lib' $(LIBHMM_LDLIBS)
