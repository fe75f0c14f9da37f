# The course's entry points. Everything runs inside $(VENV), created by `make setup`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
PYTEST_ARGS ?=
LAB_ARGS ?=

.PHONY: setup book book-quick lab test check doctor prepare bench bundle clean
.DEFAULT_GOAL := help

help:
	@echo "make book   execute every chapter and build the documentation site (build/html)"
	@echo "make test   run every test layer (what .ci/run runs)"
	@echo "make check  the fast inner loop: hygiene and unit tests, no kernels, no network (a few minutes)"
	@echo "make lab    open the chapters in JupyterLab"
	@echo "make doctor report versions, threads, engines and data"
	@echo "make prepare train the checkpoints the chapters start from"
	@echo "make bench  measure the chapters' figures and the widgets (benchmarks/results)"
	@echo "make bundle write an offline workshop folder (build/bundle): course, wheelhouse, checkpoints"

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh scripts/apt-packages.txt scripts/requirements-no-deps.txt \
          scripts/jupyterlab-overrides.json
	bash scripts/setup.sh $(VENV)
	touch $@

book: $(STAMP)
	$(PY) -m kit book

book-quick: $(STAMP)
	$(PY) -m kit book --quick

# Jupyter refuses to run as root unless told to (containers, workshop VMs).
lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root) \
		--LabApp.news_url= --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate $(LAB_ARGS)

doctor: $(STAMP)
	$(PY) -m kit doctor

prepare: $(STAMP)
	$(PY) -m kit prepare

# Every script runs even when an earlier one misses a target; the make exits non-zero if any did.
bench: $(STAMP)
	@failed=""; for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || failed="$$failed $$script"; done; \
	if [ -n "$$failed" ]; then echo "targets missed (or a script failed):$$failed"; exit 1; fi

# An offline workshop folder: the committed course, a wheelhouse, every checkpoint (trains what is missing).
# BUNDLE=/path chooses where; in it, `cd course && make setup` installs with no network.
bundle: $(STAMP)
	$(PY) -m kit bundle $(BUNDLE)

# pytest exits 5 when it collects nothing: for this suite that is a broken layout, not a pass.
test: $(STAMP)
	@rc=0; $(PY) -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: check testpaths in pyproject.toml"; exit 1; fi; \
	exit $$rc

# The inner loop: hygiene and unit layers only. No kernel is started, nothing is trained, the network is not used.
check: $(STAMP)
	@rc=0; $(PY) -m pytest tests/hygiene tests/unit -m "not network and not notebook and not browser and not docs" \
		$(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; \
	exit $$rc

clean:
	rm -rf build
