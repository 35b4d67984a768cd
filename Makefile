# Quick start: `make lab` opens the lessons, `make test` runs every test.
# Both install into the active Python environment first when something is missing.
PYTHON ?= python3
# The torch build to install when none is present. Override for your platform, e.g.
#   make test TORCH_SPEC="torch --index-url <CPU wheel index from pytorch.org>"
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: install lab test test-unit test-notebooks test-browser grade release bench

install:
	@$(PYTHON) -c "import torch" 2>/dev/null || $(PYTHON) -m pip install $(TORCH_SPEC)
	@$(PYTHON) -c "import packaging" 2>/dev/null || $(PYTHON) -m pip install packaging
	@$(PYTHON) scripts/check_env.py >/dev/null || $(PYTHON) -m pip install -e ".[dev]"

lab: install
	$(PYTHON) -m jupyter lab notebooks/

# Unit tests, every lesson and teacher notebook under nbval, and the browser tests, in one session.
test: install
	$(PYTHON) -m pytest --nbval-lax --nbval-current-env $(PYTEST_ARGS)

test-unit: install
	$(PYTHON) -m pytest tests/unit $(PYTEST_ARGS)

test-notebooks: install
	$(PYTHON) -m pytest --nbval-lax --nbval-current-env notebooks $(PYTEST_ARGS)

test-browser: install
	$(PYTHON) -m pytest tests/browser $(PYTEST_ARGS)

# A teacher grades one student notebook: make grade NB=path/to/A1_student.ipynb
grade: install
	@test -n "$(NB)" || { echo "usage: make grade NB=path/to/notebook.ipynb"; exit 2; }
	$(PYTHON) -m arcface_viz assignments grade "$(NB)"

release: install
	$(PYTHON) -m arcface_viz assignments release

bench: install
	for f in benchmarks/bench_*.py; do $(PYTHON) $$f || exit 1; done
