"""Developer "Reload": a module's Lib package is imported afresh, not only the module file."""

import sys


def forgetPackage(packageName, modules=None):
    """Remove ``packageName`` and its submodules from ``modules`` (default ``sys.modules``), so the
    next import reads them from disk again; returns the names removed."""
    modules = sys.modules if modules is None else modules
    names = [name for name in modules if name == packageName or name.startswith(packageName + ".")]
    for name in names:
        del modules[name]
    return names
