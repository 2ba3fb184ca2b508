"""A module's self-test inside Slicer: the blocking and the background run on its sample data.

Never installs anything: when the inference packages are missing it skips with the reason (the
module asks the user on its first Apply).
"""

import time

import slicer
from slicer.ScriptedLoadableModule import ScriptedLoadableModuleTest

from lesionai.dependencies import INFERENCE_REQUIREMENTS, missing_requirements

POLL_INTERVAL_S = 0.2


class TaskSelfTest(ScriptedLoadableModuleTest):
    """Subclasses give :meth:`makeLogic`, :meth:`runBlocking`, :meth:`startJob` and :meth:`checkNodes`."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        missing = missing_requirements(INFERENCE_REQUIREMENTS)
        if missing:
            self.skipTest(f"not installed: {', '.join(missing)}; press Apply once in the module to install them")
        for test in (self.test_blocking_run, self.test_background_run):
            self.setUp()
            test()

    def test_blocking_run(self):
        logic = self.makeLogic()
        self.checkNodes(self.runBlocking(logic))

    def test_background_run(self):
        logic = self.makeLogic()
        job = self.startJob(logic)
        while job.running:
            job.poll()
            slicer.app.processEvents()
            time.sleep(POLL_INTERVAL_S)
        self.checkNodes(logic.finish(job, slicer.mrmlScene))
        self.delayDisplay(f"{type(self).__name__} passed")
