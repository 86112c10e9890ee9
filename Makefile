# Two commands matter on a fresh machine: `make course` (set up, open the course) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PYTHONHASHSEED := 0

# Lessons, solutions and tests run with one BLAS thread: on small matrices threads cost more than
# they give, pytest runs two workers on two cores, and notebooks are executed and validated alike.
test notebooks exercises: export OMP_NUM_THREADS := 1
test notebooks exercises: export OPENBLAS_NUM_THREADS := 1
test notebooks exercises: export MKL_NUM_THREADS := 1

.PHONY: course test venv notebooks exercises bench bench-notebooks check-sources clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

venv: $(BIN)/python

## Set up the environment and open the course in JupyterLab.
course: venv
	$(BIN)/python -m pip install --quiet -e ".[course,grade]"
	$(BIN)/jupyter lab notebooks/00_welcome.ipynb

## Install everything the tests need and run the whole suite (what CI runs).
test: venv
	$(BIN)/python -m pip install --quiet -e ".[test]"
	bash tools/install_browser.sh
	bash tools/install_sandbox.sh
	$(BIN)/python tools/build_notebooks.py --check
	$(BIN)/python tools/build_exercises.py --check
	$(BIN)/python -m pytest -n 2 --dist loadfile

## Rebuild every lesson notebook from its source and execute it (commit the result).
notebooks: venv
	$(BIN)/python tools/build_notebooks.py

## Regenerate solution and student exercise notebooks from their sources.
exercises: venv
	$(BIN)/python tools/build_exercises.py

## Speed: engine against the BLAS floor, scikit-learn and (if installed) PyTorch.
bench: venv
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python benchmarks/run.py

## Wall time and peak memory of every lesson notebook.
bench-notebooks: venv
	$(BIN)/python benchmarks/notebooks.py

clean:
	rm -rf $(VENV) artifacts .pytest_cache
