# Quick start: `make lab` opens the lessons, `make test` runs every test.
#
# Which Python: `PYTHON=/path/to/python` when given; else the active virtual environment ($VIRTUAL_ENV) or
# conda environment ($CONDA_PREFIX), used as it is; else a project-local .venv that make creates once and
# reuses (a system Python may refuse installs: PEP 668 "externally-managed-environment").
# Every target installs what is missing first (torch: see scripts/install_torch.py, TORCH_INDEX, TORCH_SPEC).
BASE_PYTHON ?= python3
ifeq ($(origin PYTHON),undefined)
  ifneq ($(VIRTUAL_ENV),)
    PYTHON := $(VIRTUAL_ENV)/bin/python
    ENV_NOTE := the active virtual environment $(VIRTUAL_ENV)
  else ifneq ($(CONDA_PREFIX),)
    PYTHON := $(CONDA_PREFIX)/bin/python
    ENV_NOTE := the active conda environment $(CONDA_PREFIX)
  else
    PYTHON := .venv/bin/python
    VENV_PYTHON := .venv/bin/python
    ENV_NOTE := the project-local .venv (no active virtual or conda environment; activate one to use it instead)
  endif
else
  ENV_NOTE := PYTHON=$(PYTHON)
endif
# The torch release installed when none is present, and where from (auto, cpu, default or an index URL).
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?= auto
# Extra pytest options for the test targets, e.g. PYTEST_ARGS="-x -k arcface".
PYTEST_ARGS ?=
# The tests `make test-unit` runs: a folder or files, e.g. make test-unit TESTS=tests/unit/test_heads.py
TESTS ?= tests/unit
# Extra JupyterLab options, e.g. make lab LAB_ARGS="--port 8890 --no-browser"
LAB_ARGS ?=
# JupyterLab as root needs --allow-root; no news feed or update check (no pop-up asking for consent).
LAB_FLAGS := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root) \
  --LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate
export TORCH_SPEC TORCH_INDEX

.PHONY: install lab site app test test-unit test-notebooks test-browser test-zh grade release bench

.venv/bin/python:
	@$(BASE_PYTHON) -c "import sys; sys.exit(sys.version_info < (3, 11))" \
		|| { echo "make: $(BASE_PYTHON) is older than 3.11; run make BASE_PYTHON=python3.11 (or newer)"; exit 1; }
	@$(BASE_PYTHON) -m venv .venv || { rm -rf .venv; \
		echo "make: could not create .venv; on Debian/Ubuntu: apt-get install python3-venv"; exit 1; }

install: $(VENV_PYTHON)
	@echo "make: using $(ENV_NOTE)"
	@$(PYTHON) -c "import torch" 2>/dev/null || $(PYTHON) scripts/install_torch.py
	@$(PYTHON) -c "import packaging" 2>/dev/null || $(PYTHON) -m pip install packaging
	@$(PYTHON) scripts/check_env.py >/dev/null || $(PYTHON) -m pip install -e ".[dev,site,app,teacher]"

# Opens a git-ignored working copy of the lessons (my-lessons/, see scripts/lesson_copy.py): outputs that
# JupyterLab autosaves stay out of the committed notebooks, and an updated lesson never overwrites a student's.
lab: install
	@$(PYTHON) scripts/lesson_copy.py notebooks my-lessons
	$(PYTHON) -m jupyter lab $(LAB_FLAGS) --ServerApp.root_dir=my-lessons $(LAB_ARGS)

# A static, offline site of the executed lessons in site/ (open site/index.html); SITE_LESSONS=01,03 for a few.
SITE_LESSONS ?=
site: install
	$(PYTHON) scripts/build_site.py --out site $(if $(SITE_LESSONS),--lessons $(SITE_LESSONS))

# The margin explorer and the training lab as Voilà apps (no code shown) on http://127.0.0.1:8866/;
# pass Voilà options with APP_ARGS, e.g. make app APP_ARGS="--port 8870 --no-browser".
APP_ARGS ?=
app: install
	$(PYTHON) -m voila apps/ --Voila.ip=127.0.0.1 $(APP_ARGS)

# Unit tests, every lesson and teacher notebook under nbval, and the browser tests, in one session. The Chinese
# lessons (notebooks/zh/) are left out to keep the suite within its time budget; tests/unit/test_zh_edition.py,
# which runs here, keeps their code identical to the English lessons'. `make test-zh` runs them.
test: install
	$(PYTHON) -m pytest --nbval-lax --nbval-current-env $(PYTEST_ARGS)

test-unit: install
	$(PYTHON) -m pytest $(TESTS) $(PYTEST_ARGS)

test-notebooks: install
	$(PYTHON) -m pytest --nbval-lax --nbval-current-env notebooks $(PYTEST_ARGS)

test-browser: install
	$(PYTHON) -m pytest tests/browser $(PYTEST_ARGS)

# The Chinese edition: every lesson of notebooks/zh/ under nbval, its identity test and its browser test.
test-zh: install
	$(PYTHON) -m pytest --nbval-lax --nbval-current-env notebooks/zh tests/unit/test_zh_edition.py \
		tests/browser/test_zh_lesson.py $(PYTEST_ARGS)

# The assignments are an nbgrader course (notebooks/assignments/, see its README.md).
# A teacher autogrades one student's notebook with nbgrader and sees the points per graded cell:
#   make grade NB=path/to/A1_arcface_logits.ipynb [STUDENT=alice] [ASSIGNMENT=A1] [GRADE_DIR=grading]
# GRADE_DIR keeps the gradebook (git-ignored grading/ is a good place); by default a scratch folder is used.
# COURSE=notebooks/zh/assignments grades against the Chinese edition of the course, and prints the summary in
# Chinese. GRADE_LANG=en|zh overrides the summary's language (not LANG: that is the locale of every program).
# The command exits 0: pass; 1: below the pass mark (a result, which make reports as "Error 1"); 2: bad
# arguments; 3: nbgrader failed (make itself then exits 2). See notebooks/assignments/README.md.
STUDENT ?= student
COURSE ?= notebooks/assignments
COURSES := notebooks/assignments $(wildcard notebooks/zh/assignments)
grade: install
	@test -n "$(NB)" || { echo "usage: make grade NB=path/to/notebook.ipynb [STUDENT=id] [ASSIGNMENT=id] [GRADE_DIR=dir] [COURSE=dir] [GRADE_LANG=en|zh]"; exit 2; }
	@echo "make: grading $(NB) (student $(STUDENT), course $(COURSE))"
	@$(PYTHON) -m arcface_viz assignments --course "$(COURSE)" grade "$(NB)" --student "$(STUDENT)" \
		$(if $(ASSIGNMENT),--assignment "$(ASSIGNMENT)") $(if $(GRADE_DIR),--work-dir "$(GRADE_DIR)") \
		$(if $(GRADE_LANG),--lang "$(GRADE_LANG)")

# Regenerate the student copies (release/ of each course: English and Chinese) with nbgrader generate_assignment.
release: install
	for course in $(COURSES); do $(PYTHON) -m arcface_viz assignments --course $$course release || exit 1; done

bench: install
	for f in benchmarks/bench_*.py; do $(PYTHON) $$f || exit 1; done
