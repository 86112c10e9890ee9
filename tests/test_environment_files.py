"""pyproject.toml, environment.yml and binder/ must describe the same environment.

Learners arrive through Binder (binder/, read by repo2docker) or conda (environment.yml); pip users
get pyproject.toml. A dependency added to one and forgotten in another breaks one of these paths
without any other test noticing, so this file checks that they agree.

The checks are plain functions returning a list of problems, so the last tests can show that each
one really catches what it is meant to catch.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
CONDA_ENV = ROOT / "environment.yml"
BINDER = ROOT / "binder"
BINDER_ENV = BINDER / "environment.yml"
POSTBUILD = BINDER / "postBuild"
START = BINDER / "start"

# Extras of pyproject.toml that the conda and Binder environments must also provide.
EXTRAS_IN_CONDA = ("course", "grade")
# Where conda-forge's name differs from PyPI's; any of the names is accepted.
CONDA_NAMES = {"matplotlib": {"matplotlib", "matplotlib-base"}}
# Conda packages that are not Python dependencies of lrcourse but belong in the environment.
CONDA_ONLY = {"python", "pip", "jupyterlab-widgets"}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# Files that would make repo2docker ignore (Dockerfile) or second-guess binder/environment.yml.
BINDER_CONFLICTS = ("Dockerfile", "requirements.txt", "Pipfile", "setup.py", "runtime.txt")

_CONDA_SPEC = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$")


# ---------------------------------------------------------------------------------------------
# Reading the files
# ---------------------------------------------------------------------------------------------


def pip_requirements(pyproject: dict) -> dict[str, SpecifierSet]:
    """Runtime dependencies and the extras in EXTRAS_IN_CONDA, by canonical name."""
    project = pyproject["project"]
    lines = list(project["dependencies"])
    for extra in EXTRAS_IN_CONDA:
        lines += project["optional-dependencies"][extra]
    requirements = {}
    for line in lines:
        req = Requirement(line)
        requirements[canonicalize_name(req.name)] = req.specifier
    return requirements


def conda_specs(env: dict) -> dict[str, str]:
    """Conda dependencies of an environment file as {canonical name: version spec}."""
    specs = {}
    for entry in env.get("dependencies", []):
        if isinstance(entry, dict):  # the `pip:` section
            continue
        match = _CONDA_SPEC.match(entry)
        assert match, f"cannot parse conda dependency {entry!r}"
        name, spec = match.groups()
        specs[canonicalize_name(name.split("::")[-1])] = spec.replace(" ", "")
    return specs


def pip_section(env: dict) -> list[str]:
    for entry in env.get("dependencies", []):
        if isinstance(entry, dict) and "pip" in entry:
            return list(entry["pip"])
    return []


def conda_name_for(pip_name: str, conda: dict[str, str]) -> str | None:
    for name in CONDA_NAMES.get(pip_name, {pip_name}):
        if canonicalize_name(name) in conda:
            return canonicalize_name(name)
    return None


def pinned_version(spec: str) -> Version | None:
    """The version of an exact conda pin (`=1.2.3` or `==1.2.3`), else None."""
    match = re.fullmatch(r"==?([0-9][0-9A-Za-z.]*)", spec)
    if not match:
        return None
    try:
        return Version(match.group(1))
    except InvalidVersion:
        return None


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


# ---------------------------------------------------------------------------------------------
# The checks: each returns a list of problems (empty when all is well)
# ---------------------------------------------------------------------------------------------


def same_package_set(pip: dict[str, SpecifierSet], conda: dict[str, str], label: str) -> list[str]:
    problems = []
    mapped = set()
    for name in pip:
        conda_name = conda_name_for(name, conda)
        if conda_name is None:
            problems.append(f"{label}: {name} (from pyproject.toml) is missing")
        else:
            mapped.add(conda_name)
    for name in sorted(set(conda) - mapped - CONDA_ONLY):
        problems.append(f"{label}: {name} is not a dependency in pyproject.toml")
    return problems


def lower_bounds_agree(pip: dict[str, SpecifierSet], conda: dict[str, str]) -> list[str]:
    """A version constraint in environment.yml must be the one pyproject.toml states."""
    problems = []
    for name, spec in pip.items():
        conda_name = conda_name_for(name, conda)
        if conda_name is None or not conda[conda_name]:
            continue
        if SpecifierSet(conda[conda_name]) != spec:
            problems.append(
                f"environment.yml: {conda_name}{conda[conda_name]} but pyproject.toml says "
                f"{name}{spec}"
            )
    return problems


def pins_are_exact_and_allowed(
    pip: dict[str, SpecifierSet], conda: dict[str, str], requires_python: SpecifierSet
) -> list[str]:
    problems = []
    for name, spec in sorted(conda.items()):
        version = pinned_version(spec)
        if version is None:
            problems.append(
                f"binder/environment.yml: {name} is not pinned to one version ({spec!r})"
            )
            continue
        allowed = requires_python if name == "python" else None
        for pip_name in pip:
            if conda_name_for(pip_name, {name: spec}) == name:
                allowed = pip[pip_name]
        if allowed is not None and version not in allowed:
            problems.append(f"binder/environment.yml: {name}={version} is outside {allowed}")
    return problems


def postbuild_problems(text: str, executable: bool) -> list[str]:
    lines = text.splitlines()
    body = [ln.strip() for ln in lines[1:] if ln.strip() and not ln.strip().startswith("#")]
    problems = []
    if not lines or lines[0].strip() not in ("#!/usr/bin/env bash", "#!/bin/bash"):
        problems.append("postBuild: first line must be a bash shebang")
    if "set -euo pipefail" not in body:
        problems.append(
            "postBuild: needs `set -euo pipefail` so that a failed step fails the build"
        )
    installs = re.compile(r"\bpip install\b(?=.*(\s-e\s+\.|\s\.)(\s|$))")
    if not any(installs.search(ln + " ") for ln in body):
        problems.append("postBuild: does not `pip install` the repository (repo2docker won't)")
    if not executable:
        problems.append("postBuild: not executable (chmod +x, and commit the mode)")
    return problems


def start_problems(text: str, executable: bool) -> list[str]:
    lines = text.splitlines()
    body = [ln.strip() for ln in lines[1:] if ln.strip() and not ln.strip().startswith("#")]
    problems = []
    if not lines or not lines[0].startswith("#!"):
        problems.append("start: first line must be a shebang")
    for variable in THREAD_VARIABLES:
        if not any(re.fullmatch(rf"export\s+{variable}=1", ln) for ln in body):
            problems.append(f"start: does not `export {variable}=1`")
    if not body or body[-1] != 'exec "$@"':
        problems.append('start: last command must be `exec "$@"`')
    if not executable:
        problems.append("start: not executable (chmod +x, and commit the mode)")
    return problems


# ---------------------------------------------------------------------------------------------
# The tests on the real files
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads(PYPROJECT.read_text())


@pytest.fixture(scope="module")
def pip(pyproject):
    return pip_requirements(pyproject)


@pytest.fixture(scope="module")
def conda_env():
    return load_yaml(CONDA_ENV)


@pytest.fixture(scope="module")
def binder_env():
    return load_yaml(BINDER_ENV)


def test_pyproject_lists_the_dependencies_the_course_needs(pip):
    assert {"numpy", "matplotlib", "ipywidgets", "jupyterlab"} <= set(pip)


@pytest.mark.parametrize("env_name", ["conda_env", "binder_env"])
def test_conda_environments_use_conda_forge_and_python_3_11(env_name, request, pyproject):
    env = request.getfixturevalue(env_name)
    assert env.get("channels") == ["conda-forge"]
    python = conda_specs(env).get("python", "")
    assert pinned_version(python) == Version("3.11"), python
    assert Version("3.11") in SpecifierSet(pyproject["project"]["requires-python"])


def test_environment_yml_has_the_same_packages_as_pyproject(pip, conda_env):
    assert same_package_set(pip, conda_specs(conda_env), "environment.yml") == []


def test_environment_yml_states_the_same_minimum_versions(pip, conda_env):
    assert lower_bounds_agree(pip, conda_specs(conda_env)) == []


def test_environment_yml_installs_lrcourse_with_pip(conda_env):
    assert "-e ." in [line.strip() for line in pip_section(conda_env)]


def test_binder_environment_has_the_same_packages_as_pyproject(pip, binder_env):
    assert same_package_set(pip, conda_specs(binder_env), "binder/environment.yml") == []


def test_binder_environment_pins_every_package_within_pyproject_ranges(pip, binder_env, pyproject):
    requires_python = SpecifierSet(pyproject["project"]["requires-python"])
    assert pins_are_exact_and_allowed(pip, conda_specs(binder_env), requires_python) == []


def test_binder_environment_leaves_installing_lrcourse_to_postbuild(binder_env):
    # A relative `-e .` in binder/environment.yml would point into binder/, not the repository.
    assert pip_section(binder_env) == []


def test_binder_postbuild_installs_the_package_and_stops_on_errors():
    assert postbuild_problems(POSTBUILD.read_text(), os.access(POSTBUILD, os.X_OK)) == []


def test_binder_start_limits_blas_threads():
    assert start_problems(START.read_text(), os.access(START, os.X_OK)) == []


def test_binder_folder_has_no_file_that_overrides_environment_yml():
    present = [name for name in BINDER_CONFLICTS if (BINDER / name).exists()]
    assert present == []


# ---------------------------------------------------------------------------------------------
# The checks catch what they should (on altered copies of the real files)
# ---------------------------------------------------------------------------------------------


def _without(env: dict, name: str) -> dict:
    env = copy.deepcopy(env)
    env["dependencies"] = [
        d for d in env["dependencies"]
        if isinstance(d, dict) or canonicalize_name(_CONDA_SPEC.match(d).group(1)) != name
    ]  # fmt: skip
    return env


@pytest.mark.parametrize("env_name", ["conda_env", "binder_env"])
def test_a_missing_package_is_reported(env_name, request, pip):
    env = _without(request.getfixturevalue(env_name), "tqdm")
    assert same_package_set(pip, conda_specs(env), env_name) == [
        f"{env_name}: tqdm (from pyproject.toml) is missing"
    ]


def test_a_package_pyproject_lacks_is_reported(pip, binder_env):
    env = copy.deepcopy(binder_env)
    env["dependencies"].append("pandas=2.3.0")
    assert same_package_set(pip, conda_specs(env), "binder") == [
        "binder: pandas is not a dependency in pyproject.toml"
    ]


def test_matplotlib_base_stands_for_matplotlib(pip):
    assert conda_name_for("matplotlib", {"matplotlib-base": "=3.9.0"}) == "matplotlib-base"


def test_a_drifted_minimum_version_is_reported(pip, conda_env):
    env = copy.deepcopy(conda_env)
    env["dependencies"] = [
        "numpy>=1.20" if isinstance(d, str) and d.startswith("numpy") else d
        for d in env["dependencies"]
    ]
    problems = lower_bounds_agree(pip, conda_specs(env))
    assert len(problems) == 1 and problems[0].startswith("environment.yml: numpy>=1.20")


def test_unpinned_or_out_of_range_binder_packages_are_reported(pip, binder_env):
    env = copy.deepcopy(binder_env)
    swap = {"numpy": "numpy>=2", "ipywidgets": "ipywidgets=7.8.5"}
    env["dependencies"] = [
        swap.get(_CONDA_SPEC.match(d).group(1), d) if isinstance(d, str) else d
        for d in env["dependencies"]
    ]
    problems = pins_are_exact_and_allowed(pip, conda_specs(env), SpecifierSet(">=3.10"))
    assert problems == [
        "binder/environment.yml: ipywidgets=7.8.5 is outside >=8.0",
        "binder/environment.yml: numpy is not pinned to one version ('>=2')",
    ]


def test_a_postbuild_without_strict_mode_or_install_is_reported():
    text = "#!/usr/bin/env bash\n# set -euo pipefail\necho pip install -r requirements.txt\n"
    assert postbuild_problems(text, executable=False) == [
        "postBuild: needs `set -euo pipefail` so that a failed step fails the build",
        "postBuild: does not `pip install` the repository (repo2docker won't)",
        "postBuild: not executable (chmod +x, and commit the mode)",
    ]
    good = "#!/usr/bin/env bash\nset -euo pipefail\npython -m pip install --no-deps -e .\n"
    assert postbuild_problems(good, executable=True) == []


def test_a_start_script_without_thread_limits_is_reported():
    text = '#!/usr/bin/env bash\nexport OMP_NUM_THREADS=1\nexec "$@"\n'
    assert start_problems(text, executable=True) == [
        "start: does not `export OPENBLAS_NUM_THREADS=1`",
        "start: does not `export MKL_NUM_THREADS=1`",
    ]
    assert start_problems(text.replace('exec "$@"\n', ""), True)[-1].startswith("start: last")
