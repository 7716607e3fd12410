# Every target creates .venv (Python 3.11, pinned requirements, the autograder package
# installed editable) when it is missing or older than requirements.txt / pyproject.toml.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888
JOBS   ?= auto

# nbgrader runs `alembic` as a subprocess: the virtualenv's bin/ must be on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export TF_CPP_MIN_LOG_LEVEL ?= 3
# JupyterLab refuses to run as root (containers, WSL, cloud VMs) unless told it may.
ROOT_ARGS := $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)

.PHONY: venv lab test nbval release grade demo doctor lint bench clean student-edition book

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

venv: $(STAMP)

## JupyterLab on the course (nbgrader extensions included), opened on course/.
lab: $(STAMP)
	@test -z "$(ROOT_ARGS)" || echo "running as root: JupyterLab is started with --allow-root"
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) --ServerApp.port=$(PORT) \
		--LabApp.default_url=/lab/tree/course $(ROOT_ARGS) $(LAB_ARGS)

## The whole suite: unit tests, grading soundness with real nbgrader (each solution notebook
## runs there once, as the perfect student, checked by nbval's lax rule), the longest first.
test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope --no-loadscope-reorder --durations=30 tests

## nbval itself over every solution notebook, cell by cell (not part of `make test`).
nbval: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope solutions --nbval-lax

## Regenerate course/ (student notebooks) from solutions/ with nbgrader generate_assignment.
release: $(STAMP)
	$(BIN)/python -m autograder release

## Autograde everything in submitted/ (JOBS=N workers, default: the cores; GRADE_ARGS for more
## options), write feedback/, grades.csv and grading/CHAPTER/report.csv.
grade: $(STAMP)
	$(BIN)/python -m autograder grade $(if $(filter-out auto,$(JOBS)),--jobs $(JOBS)) $(GRADE_ARGS)

## The solution-free tree students get (course/, the kernel side of autograder/, Binder, a
## student README): make student-edition DIR=../course-student [FORCE=1]
student-edition: $(STAMP)
	@test -n "$(DIR)" || { echo "usage: make student-edition DIR=path/to/edition [FORCE=1]"; exit 2; }
	$(BIN)/python -m autograder student-edition "$(DIR)" $(if $(FORCE),--force)

## The course as a static web book, opened from disk: every solution run once (cached in
## $(BOOK_DIR)-cache), one page per chapter as students get it, checked for solution lines.
BOOK_DIR ?= build/book
book: $(STAMP)
	$(BIN)/python -m autograder book --out $(BOOK_DIR) $(if $(filter-out auto,$(JOBS)),--jobs $(JOBS))
	@echo "open $(BOOK_DIR)/index.html"

## Grade bundled sample students (perfect, untouched, planted bugs) end to end.
demo: $(STAMP)
	$(BIN)/python -m autograder demo

doctor: $(STAMP)
	$(BIN)/python -m autograder doctor

lint: $(STAMP)
	$(BIN)/ruff check .

## Time and peak memory of every solution notebook (see docs/benchmarks.md).
bench: $(STAMP)
	$(BIN)/python benchmarks/notebooks.py

clean:
	rm -rf autograded feedback grading gradebook.db grades.csv build
