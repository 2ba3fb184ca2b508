"""The Python packages each supported 3D Slicer release ships, in one table.

Read from Slicer's SuperBuild (the ``pip install --require-hashes`` requirement lists each
``SuperBuild/External_python-*.cmake`` file, and from 5.12 on ``SuperBuild/requirements/*.txt``,
hands to Slicer's own Python; SimpleITK before 5.10 is built from Slicer's fork, whose tag names
the version). :mod:`lesionai.dependencies` takes the names of the packages Slicer ships from here
(never installed, always pinned), and the compatibility CI builds one test environment per release
from the pins (``python -m lesionai.slicer_releases constraints 5.8``).

>>> RELEASES["5.8"].python
'3.9'
>>> constraints("5.8").splitlines()[0]
'numpy==1.26.4'
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["RELEASES", "SlicerRelease", "bundled_distributions", "constraints"]


@dataclass(frozen=True)
class SlicerRelease:
    """What one Slicer release bundles.

    ``python``: major.minor of the interpreter. ``pins``: distribution -> the exact version Slicer's
    SuperBuild installs. ``also_bundled``: distributions Slicer installs whose version this table
    does not pin (not read, or irrelevant to LesionAI). ``sources``: the SuperBuild files read.
    """

    version: str
    python: str
    pins: Mapping[str, str]
    also_bundled: tuple[str, ...] = ()
    sources: tuple[str, ...] = field(default=(), compare=False)


_REQUESTS = ("requests", "urllib3", "certifi", "idna", "charset-normalizer")
_EXTENSION_MANAGER = ("packaging", "pyparsing", "chardet", "GitPython", "gitdb", "smmap", "CouchDB")

RELEASES: Mapping[str, SlicerRelease] = {
    "5.8": SlicerRelease(
        version="5.8", python="3.9",
        pins={"numpy": "1.26.4", "scipy": "1.13.1", "pydicom": "2.4.4", "pillow": "10.3.0",
              "SimpleITK": "2.3.1", "six": "1.16.0", "retrying": "1.3.4", "dicomweb-client": "0.59.1"},
        also_bundled=("vtk", *_REQUESTS, *_EXTENSION_MANAGER),
        sources=("SuperBuild/External_python-numpy.cmake (numpy-1.26.4-cp39 wheels)",
                 "SuperBuild/External_python-scipy.cmake (scipy-1.13.1-cp39 wheels)",
                 "SuperBuild/External_python-dicom-requirements.cmake (pydicom 2.4.4, pillow-10.3.0-cp39)",
                 "SuperBuild/External_SimpleITK.cmake (Slicer/SimpleITK tag slicer-v2.3.1-2024-05-20)"),
    ),
    "5.10": SlicerRelease(
        version="5.10", python="3.12",
        pins={"numpy": "1.26.4", "scipy": "1.13.1", "pydicom": "2.4.4", "pillow": "11.2.1",
              "SimpleITK": "2.5.2", "six": "1.17.0", "retrying": "1.3.4", "dicomweb-client": "0.60.0"},
        also_bundled=("vtk", *_REQUESTS, *_EXTENSION_MANAGER),
        sources=("SuperBuild/External_python-numpy.cmake (numpy-1.26.4-cp312 wheels)",
                 "SuperBuild/External_python-scipy.cmake (scipy-1.13.1-cp312 wheels)",
                 "SuperBuild/External_python-dicom-requirements.cmake (pydicom 2.4.4, pillow-11.2.1-cp312)",
                 "SuperBuild/External_python-SimpleITK.cmake (simpleitk-2.5.2-cp311-abi3 wheels)"),
    ),
    "5.12": SlicerRelease(
        version="5.12", python="3.12",
        pins={"numpy": "2.3.4", "scipy": "1.16.3", "pydicom": "3.0.1", "pillow": "12.0.0",
              "SimpleITK": "2.5.3", "six": "1.17.0", "retrying": "1.4.2", "dicomweb-client": "0.60.1",
              "highdicom": "0.27.0", "pyjpegls": "1.5.1", "typing-extensions": "4.15.0", "dcmqi": "0.3.3",
              "packaging": "25.0", "pyparsing": "3.2.5", "requests": "2.32.5", "urllib3": "2.6.3",
              "certifi": "2025.11.12", "idna": "3.11", "charset-normalizer": "3.4.4"},
        also_bundled=("vtk", "chardet", "GitPython", "gitdb", "smmap", "CouchDB"),
        sources=("SuperBuild/requirements/python-numpy.txt", "SuperBuild/requirements/python-scipy.txt",
                 "SuperBuild/requirements/python-SimpleITK.txt",
                 "SuperBuild/requirements/python-dicom-requirements.txt",
                 "SuperBuild/requirements/python-pythonqt-requirements.txt",
                 "SuperBuild/requirements/python-requests-requirements.txt",
                 "SuperBuild/requirements/python-extension-manager-requirements.txt"),
    ),
}


def bundled_distributions() -> tuple[str, ...]:
    """Every distribution some supported Slicer release ships, sorted case-insensitively."""
    names = {name for release in RELEASES.values() for name in (*release.pins, *release.also_bundled)}
    return tuple(sorted(names, key=str.lower))


def constraints(version: str) -> str:
    """A pip constraints file (text) pinning what Slicer ``version`` ships, e.g. ``"5.8"``.

    Raises KeyError naming the known releases for any other version.
    """
    if version not in RELEASES:
        raise KeyError(f"unknown Slicer release {version!r}; known: {', '.join(RELEASES)}")
    return "".join(f"{name}=={pinned}\n" for name, pinned in RELEASES[version].pins.items())


def main(argv: list[str] | None = None) -> int:
    """``constraints VERSION`` prints the pins of a release; ``python VERSION`` its Python (major.minor)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("constraints", "python") or args[1] not in RELEASES:
        print(f"usage: python -m lesionai.slicer_releases constraints|python {'|'.join(RELEASES)}", file=sys.stderr)
        return 2
    command, version = args
    if command == "constraints":
        sys.stdout.write(constraints(version))
    else:
        print(RELEASES[version].python)
    return 0

if __name__ == "__main__":
    sys.exit(main())
