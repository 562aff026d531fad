# SPDX-License-Identifier: MIT
#
# python.mk - the Python package hmm_mirror (bindings/python); included by
# the top-level Makefile (which sets BUILD, RESULTS, HOST_TEST_TARGETS and
# VM_SUITES).
#
#   python              build the sdist, and the wheel from it, into
#                       $(PY_DIST) (python -m build) and pip-install the
#                       wheel, with pytest and mypy, into the venv
#                       $(PY_VENV) (build requirements, build, pytest and
#                       mypy come from PyPI)
#   python-host-test    the tests that need no device (tests/python/host),
#                       among them the wheel's abi3 tag, LICENSE in the
#                       wheel and the sdist, and mypy --strict on the
#                       README example, examples/prototype_device.py and
#                       the installed package: $(RESULTS)/python-host.counts
#   tests/python/python.sh   the VM suite (tests/python/vm), run in the guest
#                       with the venv's interpreter: $HMM_RESULTS/python.counts
#   python-clean        also removes the in-tree build directory pip leaves

PY_DIR := bindings/python
PYTHON ?= python3
PY_VENV := $(BUILD)/python/venv
PY_BIN := $(PY_VENV)/bin/python
PY_STAMP := $(BUILD)/python/installed.stamp
PY_DIST := $(BUILD)/python/dist
PY_VM_SUITE := tests/python/python.sh
PY_PIP_FLAGS ?= -q --disable-pip-version-check
PY_SRCS := $(PY_DIR)/python.mk $(PY_DIR)/pyproject.toml $(PY_DIR)/setup.py \
	$(PY_DIR)/ffibuild.py $(PY_DIR)/MANIFEST.in $(PY_DIR)/LICENSE \
	$(wildcard $(PY_DIR)/src/hmm_mirror/*.py $(PY_DIR)/src/hmm_mirror/*.pyi \
		$(PY_DIR)/src/hmm_mirror/py.typed) \
	$(wildcard bindings/c/src/*.c bindings/c/src/*.h bindings/c/include/hmm_mirror/*.h) \
	abi/hmm_mirror.h

# The guest runs the VM suite with the same interpreter (run-vm.sh passes
# HMM_* variables into the guest, which sees the build tree read-only).
export HMM_PYTHON := $(PY_BIN)

.PHONY: python python-host-test python-clean
##@ Build (make with no target builds all)
python: $(PY_STAMP) ## the Python sdist and abi3 wheel, installed into build/python/venv

# What a release would upload: the sdist, and the wheel built from it (so
# the sdist is proven to build on its own), installed into a venv of our
# own as a user would install it from PyPI.  The version does not change
# between builds, so the old install goes first.
$(PY_STAMP): $(PY_SRCS)
	@mkdir -p $(@D)
	@test -x $(PY_BIN) || $(PYTHON) -m venv $(PY_VENV) || \
		{ echo "python: cannot create a venv with $(PYTHON) (Debian: apt-get install python3-venv)"; exit 1; }
	$(PY_BIN) -m pip install $(PY_PIP_FLAGS) pytest mypy build
	@rm -rf $(PY_DIST)
	$(PY_BIN) -m build -q --outdir $(PY_DIST) ./$(PY_DIR)
	$(PY_BIN) -m pip uninstall $(PY_PIP_FLAGS) -y hmm-mirror
	$(PY_BIN) -m pip install $(PY_PIP_FLAGS) $(PY_DIST)/*.whl
	@touch $@

##@ Single suites and test builds
python-host-test: $(PY_STAMP) $(TARGET_BIN) ## pytest without a device, wheel checks, mypy --strict (part of make test)
	@mkdir -p $(RESULTS)
	@rm -f $(RESULTS)/python-host.counts
	@PYTHONDONTWRITEBYTECODE=1 HMM_PY_DIST=$(PY_DIST) $(PY_BIN) -m pytest -q tests/python/host \
		--counts $(RESULTS)/python-host.counts; rc=$$?; \
	[ -s $(RESULTS)/python-host.counts ] || echo "0 1 0" > $(RESULTS)/python-host.counts; \
	exit $$rc

# The suite is a script: installing the package is what it needs built.
$(PY_VM_SUITE): $(PY_STAMP) $(TARGET_BIN) ;

##@ Development
python-clean: ## remove the venv, the dist files and pip's in-tree build files
	rm -rf $(PY_DIR)/build $(PY_DIR)/src/hmm_mirror.egg-info $(BUILD)/python
clean: python-clean

HOST_TEST_TARGETS += python-host-test
VM_SUITES += $(PY_VM_SUITE)
