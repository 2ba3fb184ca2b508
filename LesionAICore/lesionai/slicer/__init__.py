"""Qt-free Slicer-side machinery shared by every LesionAI module.

* :mod:`.jobs`: run a task's command line on a volume node in a background process (start, poll,
  finish, cancel) and read its result folder back;
* :mod:`.volumes`: checks of the input volume node that every module makes before touching anything;
* :mod:`.loading`: add a result's nodes to the scene in one transaction, beside the input volume.

Nothing here imports Qt or touches ``slicer.app``: modules pass the scene and nodes in, so the same
code runs in the application, headless with ``slicer-core`` and in tests.
"""
