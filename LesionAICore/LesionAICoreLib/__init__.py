"""Slicer-side pieces every LesionAI module panel and self-test shares (they need the application).

The Qt-free machinery is :mod:`lesionai.slicer`; this package holds what needs Qt or the running
application: :mod:`.jobpanel` (a background job followed from a timer) and :mod:`.selftest` (both
run paths of a module on its own sample data).
"""
