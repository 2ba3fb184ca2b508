"""The table of what each Slicer release ships, and LesionAI's own requirements against it."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from repo_paths import REPO_ROOT

from lesionai.process import python_env
from lesionai.slicer_releases import RELEASES, constraints, main

RELEASE_UNDER_TEST = os.environ.get("LESIONAI_SLICER_RELEASE")
"""Set by ``.ci/compat`` in the environment it builds with one release's pins."""


def pyproject() -> dict:
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_each_release_pins_its_python_packages_at_exact_versions():
    for release in RELEASES.values():
        pins = dict(line.split("==") for line in constraints(release.version).splitlines())
        assert pins == dict(release.pins)
        assert all(Version(pinned) for pinned in pins.values())
        assert {"numpy", "scipy", "pydicom", "pillow", "SimpleITK"} <= set(pins)
        assert release.sources


def test_the_releases_differ_where_lesionai_must_cope():
    assert (RELEASES["5.8"].python, RELEASES["5.8"].pins["numpy"], RELEASES["5.8"].pins["pydicom"]) == \
        ("3.9", "1.26.4", "2.4.4")
    assert RELEASES["5.10"].python == "3.12" and RELEASES["5.10"].pins["pydicom"] == "2.4.4"
    assert Version(RELEASES["5.12"].pins["pydicom"]).major == 3 and Version(RELEASES["5.12"].pins["numpy"]).major == 2


def test_lesionai_requirements_accept_what_every_release_ships():
    project = pyproject()["project"]
    requirements = {Requirement(text).name.lower(): Requirement(text).specifier for text in project["dependencies"]}
    for release in RELEASES.values():
        assert Version(f"{release.python}.0") in SpecifierSet(project["requires-python"])
        for name, pinned in release.pins.items():
            assert requirements.get(name.lower(), SpecifierSet()).contains(pinned), (release.version, name, pinned)


def test_unknown_release_names_the_known_ones():
    with pytest.raises(KeyError, match="5.8, 5.10, 5.12"):
        constraints("5.6")


def test_command_line_prints_constraints_or_python_and_refuses_anything_else(capsys):
    assert main(["constraints", "5.10"]) == 0
    assert capsys.readouterr().out == constraints("5.10")
    assert main(["python", "5.12"]) == 0 and capsys.readouterr().out == "3.12\n"
    assert main(["constraints", "4.11"]) == 2 and "usage" in capsys.readouterr().err
    completed = subprocess.run([sys.executable, "-m", "lesionai.slicer_releases", "constraints", "5.8"],
                               capture_output=True, text=True, env={**os.environ, **python_env()}, timeout=60,
                               check=False)
    assert completed.returncode == 0 and "pydicom==2.4.4" in completed.stdout.splitlines()


@pytest.mark.skipif(not RELEASE_UNDER_TEST, reason="runs in the per-release environments .ci/compat builds")
def test_this_environment_has_the_release_s_versions():
    release = RELEASES[RELEASE_UNDER_TEST]
    assert platform.python_version().startswith(f"{release.python}.")
    for name in ("numpy", "scipy", "pydicom", "pillow", "SimpleITK"):
        assert importlib.metadata.version(name) == release.pins[name], name
