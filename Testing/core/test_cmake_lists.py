"""The extension's CMake files list exactly the files that exist.

Slicer installs only what a module's CMakeLists.txt lists in ``MODULE_PYTHON_SCRIPTS`` and
``MODULE_PYTHON_RESOURCES``; a file added to the source tree but not to the list works in a
developer checkout and is silently missing from the packaged extension. These tests compare the
lists with the files on disk (ignoring caches, build leftovers and test folders) and say which
lines to add or remove. They also check that the top-level CMakeLists.txt builds every module
folder and agrees with the Extensions Index entry (LesionAI.json).
"""

from __future__ import annotations

import collections
import json
import re
from pathlib import Path

import pytest

from repo_paths import REPO_ROOT as ROOT  # noqa: E402
LIST_VARIABLES = ("MODULE_PYTHON_SCRIPTS", "MODULE_PYTHON_RESOURCES")
IGNORED_FOLDERS = {"__pycache__", "Testing", "tests", ".pytest_cache"}
IGNORED_SUFFIXES = (".pyc", ".pyo", ".egg-info")
CATALOG_SCHEMA_PREFIX = (
    "https://raw.githubusercontent.com/Slicer/Slicer/main/Schemas/slicer-extension-catalog-entry-schema-v"
)


def module_folders() -> list[str]:
    """Top-level folders holding a Slicer module: ``<Name>/<Name>.py``."""
    return sorted(path.parent.name for path in ROOT.glob("*/*.py") if path.stem == path.parent.name)


def cmake_commands(text: str, command: str) -> list[list[str]]:
    """Arguments of every ``command(...)`` call in CMake ``text`` (comments removed, unquoted).

    >>> cmake_commands('set(A x "y z") # set(B)', "set")
    [['A', 'x', 'y z']]
    """
    text = re.sub(r"#[^\n]*", "", text)
    calls = re.findall(rf"\b{command}\s*\(([^)]*)\)", text, flags=re.IGNORECASE)
    return [[token.strip('"') for token in re.findall(r'"[^"]*"|\S+', body)] for body in calls]


def cmake_variables(text: str) -> dict[str, list[str]]:
    """Values of the ``set(NAME values...)`` calls in ``text``, with ``${NAME}`` references expanded."""
    variables: dict[str, list[str]] = {}
    for name, *values in cmake_commands(text, "set"):
        variables[name] = [_expand(value, variables) for value in values]
    return variables


def _expand(value: str, variables: dict[str, list[str]]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda match: ";".join(variables.get(match.group(1), [])), value)


def listed_files(module: str) -> dict[str, list[str]]:
    variables = cmake_variables((ROOT / module / "CMakeLists.txt").read_text(encoding="utf-8"))
    return {name: variables.get(name, []) for name in LIST_VARIABLES}


def files_on_disk(module: str) -> set[str]:
    """Files a module ships: everything under its folder except its CMakeLists.txt and ignored items."""
    folder = ROOT / module
    found = set()
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if path.is_file() and not _ignored(relative) and relative != Path("CMakeLists.txt"):
            found.add(relative.as_posix())
    return found


def _ignored(relative: Path) -> bool:
    parts = relative.parts
    hidden = any(part.startswith(".") for part in parts)
    in_ignored_folder = any(part in IGNORED_FOLDERS or part.endswith(IGNORED_SUFFIXES) for part in parts[:-1])
    return hidden or in_ignored_folder or relative.name.endswith(IGNORED_SUFFIXES)


def _fix_hint(module: str, unlisted: set[str], missing: set[str]) -> str:
    lines = [f"{module}/CMakeLists.txt is out of date."]
    if unlisted:
        lines.append("Add (scripts to MODULE_PYTHON_SCRIPTS, others to MODULE_PYTHON_RESOURCES):")
        lines += [f"  {name}" for name in sorted(unlisted)]
    if missing:
        lines.append("Remove (listed but not on disk):")
        lines += [f"  {name}" for name in sorted(missing)]
    return "\n".join(lines)


def top_level_cmake() -> str:
    return (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")


def test_repository_has_modules():
    assert {"LesionAICore", "SeverityScoring"} <= set(module_folders())


@pytest.mark.parametrize("module", module_folders())
def test_module_lists_match_files_on_disk(module):
    listed = listed_files(module)
    all_listed = set(listed["MODULE_PYTHON_SCRIPTS"]) | set(listed["MODULE_PYTHON_RESOURCES"])
    on_disk = files_on_disk(module)
    assert all_listed == on_disk, _fix_hint(module, on_disk - all_listed, all_listed - on_disk)


@pytest.mark.parametrize("module", module_folders())
def test_every_listed_file_exists(module):
    listed = listed_files(module)
    missing = [name for names in listed.values() for name in names if not (ROOT / module / name).is_file()]
    assert not missing, f"{module}/CMakeLists.txt lists files that do not exist: {missing}"


@pytest.mark.parametrize("module", module_folders())
def test_scripts_and_resources_are_in_the_right_list(module):
    listed = listed_files(module)
    not_python = [name for name in listed["MODULE_PYTHON_SCRIPTS"] if not name.endswith(".py")]
    python_as_resource = [name for name in listed["MODULE_PYTHON_RESOURCES"] if name.endswith(".py")]
    counts = collections.Counter(name for names in listed.values() for name in names)
    duplicates = [name for name, count in counts.items() if count > 1]
    assert not not_python, f"{module}: non-Python files in MODULE_PYTHON_SCRIPTS: {not_python}"
    assert not python_as_resource, f"{module}: Python files in MODULE_PYTHON_RESOURCES: {python_as_resource}"
    assert not duplicates, f"{module}: files listed more than once: {duplicates}"


@pytest.mark.parametrize("module", module_folders())
def test_module_is_built_as_scripted_module_with_its_lists(module):
    text = (ROOT / module / "CMakeLists.txt").read_text(encoding="utf-8")
    variables = cmake_variables(text)
    (arguments,) = cmake_commands(text, "slicerMacroBuildScriptedModule")
    assert _expand(arguments[arguments.index("NAME") + 1], variables) == module
    assert arguments[arguments.index("SCRIPTS") + 1] == "${MODULE_PYTHON_SCRIPTS}"
    assert arguments[arguments.index("RESOURCES") + 1] == "${MODULE_PYTHON_RESOURCES}"
    assert "WITH_GENERIC_TESTS" in arguments


def test_top_level_builds_every_module_folder():
    subdirectories = [arguments[0] for arguments in cmake_commands(top_level_cmake(), "add_subdirectory")]
    assert sorted(subdirectories) == module_folders(), (
        f"add_subdirectory entries {sorted(subdirectories)} differ from the module folders {module_folders()}"
    )


def test_top_level_is_a_slicer_extension():
    text = top_level_cmake()
    (project,) = cmake_commands(text, "project")
    variables = cmake_variables(text)
    assert project[0] == "LesionAI"
    for name in ("EXTENSION_HOMEPAGE", "EXTENSION_CATEGORY", "EXTENSION_CONTRIBUTORS", "EXTENSION_DESCRIPTION",
                 "EXTENSION_ICONURL", "EXTENSION_SCREENSHOTURLS", "EXTENSION_DEPENDS"):
        assert variables.get(name), f"{name} is not set in CMakeLists.txt"
    for include in ("${Slicer_USE_FILE}", "${Slicer_EXTENSION_GENERATE_CONFIG}", "${Slicer_EXTENSION_CPACK}"):
        assert [include] in cmake_commands(text, "include"), f"include({include}) is missing"
    assert ["Slicer", "REQUIRED"] in cmake_commands(text, "find_package")


def test_extension_icon_exists_and_is_128_pixels():
    from PIL import Image

    icon_url = cmake_variables(top_level_cmake())["EXTENSION_ICONURL"][0]
    icon = ROOT / "Resources" / "Icons" / "LesionAI.png"
    assert icon_url.endswith("/Resources/Icons/LesionAI.png")
    with Image.open(icon) as image:
        assert image.size == (128, 128)


def test_extensions_index_entry_agrees_with_cmake():
    entry = json.loads((ROOT / "LesionAI.json").read_text(encoding="utf-8"))
    variables = cmake_variables(top_level_cmake())
    assert entry["$schema"].startswith(CATALOG_SCHEMA_PREFIX)
    assert set(entry) <= {"$schema", "category", "scm_url", "scm_revision", "scm_type", "build_dependencies",
                          "build_subdirectory", "enabled", "tier", "dicom_support_rule"}
    assert entry["category"] == variables["EXTENSION_CATEGORY"][0]
    assert entry["scm_url"].removesuffix(".git") == variables["EXTENSION_HOMEPAGE"][0]
    depends = variables["EXTENSION_DEPENDS"]
    assert entry["build_dependencies"] == ([] if depends == ["NA"] else depends)
    assert entry["tier"] in range(1, 6)


def test_extensions_index_entry_builds_the_release_branch_of_this_version():
    """The index builds a release branch (cut from a commit that passed CI), never the moving main."""
    entry = json.loads((ROOT / "LesionAI.json").read_text(encoding="utf-8"))
    version = re.search(r'^version = "(\d+)\.(\d+)\.\d+"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert entry["scm_revision"] == f"release-{version[1]}.{version[2]}"
