# SPDX-License-Identifier: MIT
#
# bindings/rust/rust.mk - the Rust crates hmm-mirror-sys and hmm-mirror;
# included by the top-level Makefile (which sets BUILD, RESULTS, MODULE,
# VM, HOST_TEST_TARGETS and VM_SUITES).  Cargo's output goes to
# $(BUILD)/cargo, so the work tree stays clean.
#
#   rust              build both crates and the example
#   rust-host-test    cargo test of everything that needs no device,
#                     clippy -D warnings, and the publishing checks of
#                     tests/rust/package-checks.sh (cargo package of both
#                     crates, their contents, a docs.rs-like doc build):
#                     $(RESULTS)/rust-host.counts (part of `make test`
#                     through HOST_TEST_TARGETS)
#   rust-vm-build     build the device tests and the example for the VM;
#                     $(RUST_VM_SUITE) is the suite `make vm-test` runs
#                     (tests/rust/run-vm-tests.sh, counts in rust.counts)
#   rust-example      run examples/prototype_device.rs in the VM
#   rust-check        clippy -D warnings and rustfmt --check
#   rust-msrv         cargo check of everything with the rust-version of
#                     Cargo.toml (rustup toolchain install <that version>)
#   rust-bindings     regenerate hmm-mirror-sys/src/bindings.rs (needs
#                     libclang: apt-get install libclang-dev)

RUST_DIR := bindings/rust
CARGO ?= cargo
RUST_TARGET_DIR := $(BUILD)/cargo
RUST_CARGO := CARGO_TARGET_DIR=$(RUST_TARGET_DIR) $(CARGO)
RUST_MANIFEST := --manifest-path $(RUST_DIR)/Cargo.toml --locked
RUST_EXAMPLE := $(RUST_TARGET_DIR)/debug/examples/prototype_device
RUST_VM_LIST := $(RUST_TARGET_DIR)/vm-tests.list
# guest-suite.sh names a suite after its file: rust.sh reports rust.counts.
RUST_VM_SUITE := $(RUST_TARGET_DIR)/rust.sh
RUST_HOST_LOG := $(BUILD)/rust-host-test.log

RUST_MSRV := $(shell sed -n 's/^rust-version = "\(.*\)"/\1/p' $(RUST_DIR)/Cargo.toml)

.PHONY: rust rust-host-test rust-vm-build rust-example rust-check rust-msrv rust-bindings

HOST_TEST_TARGETS += rust-host-test
VM_SUITES += $(RUST_VM_SUITE)

_rust_need_cargo = @command -v $(CARGO) >/dev/null || { echo "missing: cargo (install Rust with rustup)" >&2; exit 1; }

##@ Build (make with no target builds all)
rust: ## the Rust crates, their tests and the example (needs cargo)
	$(_rust_need_cargo)
	$(RUST_CARGO) build $(RUST_MANIFEST) --workspace --all-targets

# Host tests: hmm-mirror-sys (ABI layout against the C compiler, bindings
# up to date, linking), hmm-mirror's unit tests (flags, page states,
# errors, a missing device), every doc test, then clippy, then the checks
# that the crates can be published (cargo package, which needs the
# crates.io index) and documented on docs.rs.  hmm-mirror's tests/*.rs
# need the device: they run in the VM, not here.
##@ Single suites and test builds
rust-host-test: ## cargo test, clippy, cargo package, docs.rs build (part of make test)
	@mkdir -p $(RESULTS)
	@rm -f $(RUST_HOST_LOG) && touch $(RUST_HOST_LOG)
	@rc=0; \
	if ! command -v $(CARGO) >/dev/null; then \
		echo "missing: cargo (install Rust with rustup)"; rc=1; \
	else \
		for args in "-p hmm-mirror-sys --lib --tests" "-p hmm-mirror --lib" "--workspace --doc"; do \
			HMM_MIRROR_SYS_REQUIRE_BINDGEN=1 $(RUST_CARGO) test $(RUST_MANIFEST) --no-fail-fast $$args 2>&1 | tee -a $(RUST_HOST_LOG); \
			[ $${PIPESTATUS[0]} -eq 0 ] || rc=1; \
		done; \
		if $(RUST_CARGO) clippy $(RUST_MANIFEST) --workspace --all-targets -- -D warnings; then \
			r="ok. 1 passed; 0 failed"; \
		else \
			r="FAILED. 0 passed; 1 failed"; rc=1; \
		fi; \
		echo "test result: $$r; 0 ignored; (clippy --all-targets -D warnings)" | tee -a $(RUST_HOST_LOG); \
		CARGO="$(CARGO)" CARGO_TARGET_DIR=$(RUST_TARGET_DIR) \
			tests/rust/package-checks.sh 2>&1 | tee -a $(RUST_HOST_LOG); \
		[ $${PIPESTATUS[0]} -eq 0 ] || rc=1; \
	fi; \
	set -- $$(tests/rust/libtest-counts.sh $(RUST_HOST_LOG)); \
	f=$$2; [ $$rc -eq 0 ] || [ $$f -gt 0 ] || f=1; \
	echo "$$1 $$f $$3" > $(RESULTS)/rust-host.counts; \
	echo "rust-host-test: $$1 passed, $$f failed, $$3 skipped"; \
	exit $$rc

# The device tests (tests/*.rs of hmm-mirror) and the example, built here
# and run in the guest by tests/rust/run-vm-tests.sh.  Cargo decides what
# is stale, so this always runs it.
rust-vm-build: ## build the Rust device tests and example for the VM
	$(_rust_need_cargo)
	@mkdir -p $(RUST_TARGET_DIR)
	$(RUST_CARGO) build $(RUST_MANIFEST) -p hmm-mirror --example prototype_device
	@$(RUST_CARGO) test $(RUST_MANIFEST) -p hmm-mirror --tests --no-run \
		--message-format=json-render-diagnostics > $(RUST_TARGET_DIR)/vm-tests.json
	@{ python3 -c 'import json, sys; \
		[print("test", m["executable"]) for m in map(json.loads, sys.stdin) \
		 if m.get("reason") == "compiler-artifact" and m.get("executable") \
		 and m["target"]["kind"] == ["test"]]' < $(RUST_TARGET_DIR)/vm-tests.json; \
	   echo "example $(RUST_EXAMPLE)"; \
	   echo "example-fails $(RUST_EXAMPLE) --ignore-events"; } > $(RUST_VM_LIST).tmp
	@grep -q '^test ' $(RUST_VM_LIST).tmp || { echo "rust-vm-build: no test binary found" >&2; exit 1; }
	@mv $(RUST_VM_LIST).tmp $(RUST_VM_LIST)

$(RUST_VM_SUITE): rust-vm-build
	@printf '#!/bin/sh\nexec %s %s\n' "$(CURDIR)/tests/rust/run-vm-tests.sh" "$(RUST_VM_LIST)" > $@
	@chmod +x $@

##@ Demo and tests
rust-example: $(MODULE) rust-vm-build ## run the Rust prototype device in the VM
	@scripts/require.sh vm
	$(VM) --module $(MODULE) -- $(RUST_EXAMPLE)

##@ Development
rust-check: ## clippy -D warnings and rustfmt --check
	$(_rust_need_cargo)
	$(RUST_CARGO) clippy $(RUST_MANIFEST) --workspace --all-targets -- -D warnings
	$(CARGO) fmt --manifest-path $(RUST_DIR)/Cargo.toml --all -- --check

rust-msrv: ## cargo check with the crates' rust-version (rustup toolchain)
	$(_rust_need_cargo)
	@rustup run $(RUST_MSRV) cargo --version >/dev/null 2>&1 || \
		{ echo "missing: Rust $(RUST_MSRV) (rustup toolchain install $(RUST_MSRV) --profile minimal)" >&2; exit 1; }
	CARGO_TARGET_DIR=$(BUILD)/cargo-msrv $(CARGO) +$(RUST_MSRV) check $(RUST_MANIFEST) --workspace --all-targets

rust-bindings: ## regenerate hmm-mirror-sys/src/bindings.rs (libclang)
	$(_rust_need_cargo)
	HMM_MIRROR_SYS_BLESS=1 HMM_MIRROR_SYS_REQUIRE_BINDGEN=1 \
		$(RUST_CARGO) test $(RUST_MANIFEST) -p hmm-mirror-sys --test bindings_current_test
