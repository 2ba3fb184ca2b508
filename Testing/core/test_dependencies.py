"""Declaring, checking and installing (with consent) the packages LesionAI needs."""

from __future__ import annotations

import re
import sys

import pytest

from lesionai.dependencies import (
    INFERENCE_REQUIREMENTS,
    PROTECTED,
    SLICER_BUNDLED,
    ensure_requirements,
    missing_requirements,
    refuse_protected,
)
from lesionai.errors import DependencyError
from lesionai.slicer.dependencies import ensure_in_slicer, slicer_installer, write_bundled_constraints
from lesionai.slicer_releases import RELEASES

ABSENT = "lesionai-test-absent-package"


class Consent:
    """Stands in for the confirmation dialog: answers ``answer`` and remembers each question."""

    def __init__(self, answer: bool):
        self.answer = answer
        self.questions: list[list[str]] = []

    def __call__(self, missing: list[str]) -> bool:
        self.questions.append(list(missing))
        return self.answer


class DistInfoInstaller:
    """Installs requirements by writing real ``.dist-info`` metadata into a site folder on sys.path.

    The installed version is the lower bound of the requirement (or 1.0). ``works=False`` makes it
    do nothing, as a pip run that silently installed elsewhere would.
    """

    def __init__(self, site, works: bool = True):
        self.site = site
        self.works = works
        self.calls: list[list[str]] = []

    def __call__(self, requirements: list[str]) -> None:
        self.calls.append(list(requirements))
        for requirement in requirements if self.works else []:
            name, _, version = re.match(r"([A-Za-z0-9_.-]+)(>=|==)?([0-9.]*)", requirement).groups()
            install_fake_distribution(self.site, name, version or "1.0")


class FailingInstaller:
    def __init__(self):
        self.calls = 0

    def __call__(self, requirements):
        self.calls += 1
        raise RuntimeError("pip exited with status 1 (no network)")


def install_fake_distribution(site, name, version):
    dist_info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


def normalised(names):
    return {re.sub(r"[-_.]+", "-", name).lower() for name in names}


def test_inference_requirements_leave_slicer_packages_alone():
    names = normalised(INFERENCE_REQUIREMENTS)
    assert names == {"onnxruntime", "jsonschema"}
    assert not names & (PROTECTED | normalised(SLICER_BUNDLED))


def test_packages_slicer_relies_on_are_protected_and_every_shipped_one_pinned():
    assert {"numpy", "scipy", "simpleitk", "vtk", "pydicom", "pillow"} <= PROTECTED
    shipped = normalised(name for release in RELEASES.values() for name in release.pins)
    assert shipped | {"vtk", "requests", "packaging"} <= normalised(SLICER_BUNDLED)
    for requirement in ["pydicom>=3.0", "Pillow==12.0.0", "scipy"]:
        with pytest.raises(DependencyError, match="will not install"):
            refuse_protected([requirement])


def test_inference_in_slicer_imports_only_what_slicer_ships_plus_the_requirements(tmp_path):
    """The command line the Slicer panels run (``--progress json --outputs read-back`` on a NRRD the
    module wrote) works with every package absent that neither Slicer nor :data:`INFERENCE_REQUIREMENTS`
    provides."""
    import os
    import subprocess

    from lesionai.imageio import write_image
    from lesionai.phantoms.cxr import generate_cxr_phantom
    from lesionai.process import python_env

    write_image(generate_cxr_phantom(seed=3, size=(384, 384)).image, tmp_path / "input.nrrd")
    blocked = ["yaml", "tqdm", "pylibjpeg", "libjpeg", "openjpeg", "torch", "monai"]
    script = (f"import sys; sys.modules.update(dict.fromkeys({blocked!r})); from lesionai import cli; "
              f"sys.exit(cli.main(['severity', {str(tmp_path / 'input.nrrd')!r}, '-o', {str(tmp_path / 'out')!r}, "
              "'--progress', 'json', '--outputs', 'read-back']))")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               env={**os.environ, **python_env()}, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert (tmp_path / "out" / "input" / "result.json").is_file()


def test_inference_requirements_are_met_by_the_development_environment():
    assert missing_requirements(INFERENCE_REQUIREMENTS) == []


def test_absent_and_outdated_packages_are_missing(site):
    install_fake_distribution(site, "lesionai-old-dep", "1.0")
    requirements = {"pytest": ">=1", ABSENT: ">=2.0", "lesionai-old-dep": ">=2.0", "lesionai_old_dep": ""}
    assert missing_requirements(requirements) == [f"{ABSENT}>=2.0", "lesionai-old-dep>=2.0"]


def test_without_packaging_only_presence_is_checked(site, monkeypatch):
    monkeypatch.setitem(sys.modules, "packaging.specifiers", None)
    install_fake_distribution(site, "lesionai-old-dep", "1.0")
    assert missing_requirements({"lesionai-old-dep": ">=2.0", ABSENT: ">=1"}) == [f"{ABSENT}>=1"]


def test_nothing_missing_asks_nothing(site):
    consent, installer = Consent(True), DistInfoInstaller(site)
    assert ensure_requirements({"pytest": ">=1"}, consent, installer) == []
    assert consent.questions == [] and installer.calls == []


def test_asks_once_and_installs_only_what_is_missing(site):
    consent, installer = Consent(True), DistInfoInstaller(site)
    requirements = {"pytest": ">=1", ABSENT: ">=2.5", "lesionai-other-dep": ""}
    installed = ensure_requirements(requirements, consent, installer)
    assert installed == [f"{ABSENT}>=2.5", "lesionai-other-dep"]
    assert consent.questions == [installed]
    assert installer.calls == [installed]
    assert missing_requirements(requirements) == []


def test_declining_installs_nothing(site):
    consent, installer = Consent(False), DistInfoInstaller(site)
    with pytest.raises(DependencyError, match=f"declined.*pip install \"{ABSENT}>=1\""):
        ensure_requirements({ABSENT: ">=1"}, consent, installer)
    assert installer.calls == []
    assert missing_requirements({ABSENT: ">=1"}) == [f"{ABSENT}>=1"]


def test_installer_failure_is_a_dependency_error(site):
    installer = FailingInstaller()
    with pytest.raises(DependencyError, match="Installing .* failed: pip exited with status 1"):
        ensure_requirements({ABSENT: ""}, Consent(True), installer)
    assert installer.calls == 1


def test_install_that_changes_nothing_is_reported(site):
    with pytest.raises(DependencyError, match="still not available after installation. Restart Slicer"):
        ensure_requirements({ABSENT: ""}, Consent(True), DistInfoInstaller(site, works=False))


@pytest.mark.parametrize("requirement", [{"numpy": ">=99"}, {"SimpleITK": ">=99"}, {"slicer_core": ">=99"}, {"torch": ">=99"}])
def test_protected_packages_are_refused_before_asking(site, requirement):
    consent, installer = Consent(True), DistInfoInstaller(site)
    with pytest.raises(DependencyError, match="will not install"):
        ensure_requirements(requirement, consent, installer)
    assert consent.questions == [] and installer.calls == []


def test_refuse_protected_reads_names_from_requirement_strings():
    refuse_protected(["onnxruntime>=1.17", "vtk-tools", "numpyro"])
    for requirement in ["numpy>=2", "VTK==9.3", "torch[cuda]", "SimpleITK ; python_version>'3'"]:
        with pytest.raises(DependencyError):
            refuse_protected([requirement])


def test_slicer_installer_refuses_protected_packages():
    pytest.importorskip("slicer.util")
    with pytest.raises(DependencyError, match="numpy"):
        slicer_installer()(["numpy>=2"])


def test_ensure_in_slicer_asks_with_the_module_title_and_respects_a_no(site, monkeypatch):
    """The OK/Cancel dialog is Qt; it is replaced by a recorder, everything else is real."""
    util = pytest.importorskip("slicer.util")
    asked = []
    monkeypatch.setattr(util, "confirmOkCancelDisplay", lambda text, title: asked.append((text, title)) or False,
                        raising=False)
    assert ensure_in_slicer("SeverityScoring", {"pytest": ">=1"}) == []
    assert asked == []
    with pytest.raises(DependencyError, match="declined"):
        ensure_in_slicer("SeverityScoring", {ABSENT: ">=1"})
    (text, title), = asked
    assert text.startswith("SeverityScoring needs") and f"{ABSENT}>=1" in text and title == "Install LesionAI packages"


def test_install_feedback_is_shown_only_after_the_user_agreed_and_while_pip_runs(site, monkeypatch):
    """The OK/Cancel dialog is Qt (a recorder here); the install itself writes a real dist-info."""
    import contextlib

    import lesionai.slicer.dependencies as slicer_dependencies

    util = pytest.importorskip("slicer.util")
    order = []
    monkeypatch.setattr(util, "confirmOkCancelDisplay", lambda text, title: order.append("asked") or True,
                        raising=False)
    installer = DistInfoInstaller(site)
    monkeypatch.setattr(slicer_dependencies, "slicer_installer",
                        lambda: lambda missing: order.append("pip") or installer(missing))

    @contextlib.contextmanager
    def installing(missing):
        order.append(f"dialog shown: {missing}")
        yield
        order.append("dialog closed")

    assert ensure_in_slicer("SeverityScoring", {ABSENT: ">=1"}, installing=installing) == [f"{ABSENT}>=1"]
    assert order == ["asked", f"dialog shown: ['{ABSENT}>=1']", "pip", "dialog closed"]


def test_bundled_packages_are_pinned_at_their_installed_versions():
    import importlib.metadata

    path = write_bundled_constraints()
    try:
        pins = dict(line.split("==") for line in path.read_text().split())
    finally:
        path.unlink()
    for name in ("numpy", "SimpleITK", "scipy", "pydicom", "pillow"):
        assert pins[name] == importlib.metadata.version(name)
    assert set(pins) <= set(SLICER_BUNDLED)


def test_slicer_installer_passes_the_constraints_to_pip(monkeypatch):
    """Slicer's pip runner is replaced by a recorder (it installs into the running application)."""
    util = pytest.importorskip("slicer.util")
    import lesionai.slicer.dependencies as dependencies

    calls = []
    monkeypatch.setattr(dependencies, "_slicer_pip_ensure", lambda: None)
    monkeypatch.setattr(util, "pip_install",
                        lambda arguments: calls.append((arguments, open(arguments[-1]).read())), raising=False)
    slicer_installer()(["onnxruntime>=1.17"])
    (arguments, constraints), = calls
    assert arguments[:2] == ["onnxruntime>=1.17", "--constraint"] and "numpy==" in constraints
