"""Python packages LesionAI needs, and installing the missing ones (with consent) into Slicer.

Slicer ships numpy, scipy, SimpleITK, VTK, pydicom, Pillow, requests, packaging and more
(:mod:`lesionai.slicer_releases` lists them per release). LesionAI uses those as they are: it works
with Slicer 5.8's numpy 1.26 and pydicom 2.4 as well as Slicer 5.12's numpy 2 and pydicom 3, so
:data:`INFERENCE_REQUIREMENTS` names only what no Slicer ships and inference inside Slicer imports
(onnxruntime for the networks, jsonschema for the model registry). Replacing a package Slicer relies
on (numpy, SimpleITK, VTK, scipy, pydicom for its DICOM module, Pillow) or pulling in the slicer-core
wheel breaks the application, so :data:`PROTECTED` refuses them outright; torch is refused too, as
inference runs on onnxruntime and never needs it inside Slicer. While anything is installed, every
package Slicer ships is pinned at its installed version (:data:`SLICER_BUNDLED`).

>>> missing_requirements({"onnxruntime": ">=1.17"})  # [] when a recent onnxruntime is installed  # doctest: +SKIP
>>> ensure_requirements(INFERENCE_REQUIREMENTS, confirm=ask_user, installer=pip_installer)  # doctest: +SKIP

Installing into the running Slicer (asking first) is :mod:`lesionai.slicer.dependencies`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from collections.abc import Callable, Iterable, Mapping

from lesionai.errors import DependencyError
from lesionai.slicer_releases import bundled_distributions

Requirements = Mapping[str, str]
"""Distribution name -> version specifier ("" for any version), e.g. {"pydicom": ">=3.0"}."""

INFERENCE_REQUIREMENTS: Requirements = {
    "onnxruntime": ">=1.17",
    "jsonschema": ">=4.18",
}
"""What inference inside Slicer needs and no Slicer release ships. DICOM files are read by Slicer
itself there (no pylibjpeg), progress goes to the panel (no tqdm) and no YAML is parsed."""

PROTECTED = frozenset({"numpy", "scipy", "simpleitk", "vtk", "pydicom", "pillow", "slicer-core", "torch"})
"""Packages that must never be pip-installed into Slicer (normalised names)."""

SLICER_BUNDLED = bundled_distributions()
"""Packages Slicer ships; their installed versions are pinned while LesionAI installs anything."""


def missing_requirements(requirements: Requirements) -> list[str]:
    """Requirement strings (e.g. ``"pydicom>=3.0"``) that are absent or installed at a wrong version.

    Versions are checked with ``packaging`` when it is importable; without it only presence is
    checked.
    """
    importlib.invalidate_caches()
    return [
        f"{name}{specifier}"
        for name, specifier in requirements.items()
        if not _satisfied(name, specifier)
    ]


def ensure_requirements(
    requirements: Requirements,
    confirm: Callable[[list[str]], bool],
    installer: Callable[[list[str]], None],
) -> list[str]:
    """Install what is missing after asking once; return the requirement strings installed.

    ``confirm(missing)`` is asked only when something is missing; ``installer(missing)`` installs
    exactly those. Raises DependencyError when a missing package is protected, the user declines,
    the installer fails, or the packages are still unusable afterwards.
    """
    missing = missing_requirements(requirements)
    if not missing:
        return []
    refuse_protected(missing)
    if not confirm(list(missing)):
        raise DependencyError(f"LesionAI needs {_listing(missing)}; installation was declined. {_manual_hint(missing)}")
    _install(missing, installer)
    _check_installed(missing, requirements)
    return missing


def refuse_protected(requirements: Iterable[str]) -> None:
    """Raise DependencyError when any requirement string names a :data:`PROTECTED` package."""
    protected = [requirement for requirement in requirements if _normalise(_name_of(requirement)) in PROTECTED]
    if protected:
        raise DependencyError(
            f"LesionAI will not install {_listing(protected)} into Slicer: Slicer provides its own "
            "copy and replacing it can break the application. Use a Slicer version that ships a "
            "suitable one, or run LesionAI from a separate Python environment."
        )










def _satisfied(name: str, specifier: str) -> bool:
    try:
        installed = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return _version_matches(installed, specifier)


def _version_matches(installed: str, specifier: str) -> bool:
    if not specifier.strip():
        return True
    try:
        from packaging.specifiers import SpecifierSet
        from packaging.version import InvalidVersion
    except ImportError:
        return True  # without packaging, presence is the best check available
    try:
        return SpecifierSet(specifier).contains(installed, prereleases=True)
    except InvalidVersion:
        return False


def _install(missing: list[str], installer: Callable[[list[str]], None]) -> None:
    try:
        installer(list(missing))
    except DependencyError:
        raise
    # Installers are pip front ends (subprocesses, Slicer dialogs) that fail in many ways.
    except Exception as error:
        raise DependencyError(f"Installing {_listing(missing)} failed: {error}. {_manual_hint(missing)}") from error


def _check_installed(missing: list[str], requirements: Requirements) -> None:
    names = {_name_of(requirement) for requirement in missing}
    still_missing = missing_requirements({name: spec for name, spec in requirements.items() if name in names})
    if still_missing:
        raise DependencyError(
            f"{_listing(still_missing)} still not available after installation. Restart Slicer "
            f"(an older version may already be loaded) and try again. {_manual_hint(still_missing)}"
        )


def _name_of(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;@(]", requirement.strip(), maxsplit=1)[0]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _listing(requirements: Iterable[str]) -> str:
    return ", ".join(requirements)


def _manual_hint(requirements: Iterable[str]) -> str:
    quoted = " ".join(f'"{requirement}"' for requirement in requirements)
    return f"To install by hand: PythonSlicer -m pip install {quoted}"
