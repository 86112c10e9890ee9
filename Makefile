# Two commands matter on a fresh machine: `make course` (set up, open the course) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PYTHONHASHSEED := 0

# Lessons, solutions and tests run with one BLAS thread: on small matrices threads cost more than
# they give, pytest runs two workers on two cores, and notebooks are executed and validated alike.
test kernels notebooks exercises: export OMP_NUM_THREADS := 1
test kernels notebooks exercises: export OPENBLAS_NUM_THREADS := 1
test kernels notebooks exercises: export MKL_NUM_THREADS := 1

# OpenBLAS picks its kernels by CPU, and other kernels round differently: a lesson's claims must
# hold on all of them. These can be forced on any x86-64 machine that has the instructions
# (Prescott: SSE3 only; Sandybridge: AVX; Haswell: AVX2/FMA, as on most AMD and Intel laptops).
FORCED_KERNELS ?= Haswell Sandybridge Prescott
# `make test` re-runs the notebooks and the numeric tests under the most different one.
CI_KERNEL ?= Prescott
NOTEBOOK_PATHS := notebooks exercises/solutions
PYTEST := $(BIN)/python -m pytest -n 2 --dist loadfile

# JupyterLab serves the whole repository (lessons and exercises) and opens at lesson 00; its
# terminals start with the course's environment active. --allow-root only for root (Docker, cloud
# shells), where Jupyter refuses to start without it.
LAB_ARGS := --ServerApp.root_dir="$(CURDIR)" \
	--LabApp.default_url=/lab/tree/notebooks/00_welcome.ipynb \
	--ServerApp.terminado_settings='{"shell_command": ["bash", "--rcfile", "$(CURDIR)/tools/course_shell.sh", "-i"]}' \
	$(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: course test kernels venv notebooks exercises bench bench-notebooks site clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

venv: $(BIN)/python

# Installs happen once, and again only when pyproject.toml (the dependencies) changes.
$(VENV)/.installed-course: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[course,grade]"
	touch $@

$(VENV)/.installed-site: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[site]"
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

## Set up the environment (first run only) and open the course in JupyterLab.
course: $(VENV)/.installed-course
	$(BIN)/jupyter lab $(LAB_ARGS)

## Install everything the tests need and run the whole suite (what CI runs).
test: $(VENV)/.installed-test
	bash tools/install_test_tools.sh
	$(BIN)/python tools/build_notebooks.py --check
	$(BIN)/python tools/build_exercises.py --check
	$(PYTEST) --ignore=tests/test_grader.py
	# The grader's attack batch (a fork bomb among others) runs alone, not beside timing-sensitive tests.
	$(BIN)/python -m pytest tests/test_grader.py
	OPENBLAS_CORETYPE=$(CI_KERNEL) $(PYTEST) $(NOTEBOOK_PATHS) lrcourse tests \
		--ignore=tests/browser --ignore=tests/test_grader.py --ignore=tests/test_exercises.py

## Re-execute every lesson and solution notebook under each forced BLAS kernel (nbval).
kernels: $(VENV)/.installed-test
	set -e; for kernel in $(FORCED_KERNELS); do \
		echo "== OPENBLAS_CORETYPE=$$kernel"; \
		OPENBLAS_CORETYPE=$$kernel $(PYTEST) -q $(NOTEBOOK_PATHS); \
	done

## Rebuild every lesson notebook from its source and execute it (commit the result).
notebooks: venv
	$(BIN)/python tools/build_notebooks.py

## Regenerate solution and student exercise notebooks from their sources.
exercises: venv
	$(BIN)/python tools/build_exercises.py

## Build the course website from the committed notebooks into site/_build/html (warnings are errors).
site: $(VENV)/.installed-site
	$(BIN)/python -m sphinx -E -W --keep-going -b html -d site/_build/doctrees site site/_build/html
	@echo "site: open site/_build/html/index.html"

## Speed: engine against the BLAS floor, scikit-learn and (if installed) PyTorch.
bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/run.py

## Wall time and peak memory of every lesson notebook.
bench-notebooks: venv
	$(BIN)/python benchmarks/notebooks.py

clean:
	rm -rf $(VENV) artifacts .pytest_cache site/_build site/notebooks site/exercises
