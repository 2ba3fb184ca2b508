"""A panel's background job: Apply becomes Cancel, a timer polls the job, the result is shown.

A module panel subclasses :class:`JobPanel`, builds its widgets (``applyButton``, ``progressBar``,
``warningsLabel``) and provides :meth:`JobPanel.startJob` and :meth:`JobPanel.jobFinished`.
Cancel and scene close ask the child to stop and return at once: the GUI never waits for it. The
timer then finishes the cancel (kills what is left after the grace period, deletes the job's files);
only :meth:`JobPanel.cleanup` (the module closing) waits for that.
"""

import contextlib

import ctk
import qt
import slicer

POLL_INTERVAL_MS = 200


class JobPanel:
    """Follows one background job of ``logic`` (a ``lesionai.slicer.logic.TaskLogic``)."""

    title = "LesionAI"

    def __init__(self, logic):
        self.logic, self._job = logic, None
        self._stopping = []  # cancelled jobs whose process tree is not gone yet
        self._pollTimer = qt.QTimer()
        self._pollTimer.setInterval(POLL_INTERVAL_MS)
        self._pollTimer.connect("timeout()", self.onPollJob)

    def section(self, layout, title, kind=qt.QFormLayout):
        """A collapsible section titled ``title`` added to ``layout``; returns its inner layout."""
        section = ctk.ctkCollapsibleButton()
        section.text = title
        layout.addWidget(section)
        return kind(section)

    def nodeSelector(self, nodeTypes, toolTip, noneEnabled=False):
        """A node combo box of ``nodeTypes`` on the application's scene."""
        selector = slicer.qMRMLNodeComboBox()
        selector.nodeTypes = nodeTypes
        selector.addEnabled = selector.removeEnabled = False
        selector.noneEnabled = noneEnabled
        selector.setMRMLScene(slicer.mrmlScene)
        selector.toolTip = toolTip
        return selector

    def addRunRows(self, form, sampleText, sampleToolTip=""):
        """The sample button, Apply/Cancel and the progress bar, as the last rows of ``form``."""
        self.sampleButton = qt.QPushButton(sampleText)
        self.sampleButton.toolTip = sampleToolTip
        self.sampleButton.connect("clicked(bool)", self.onSampleButton)
        self.applyButton = qt.QPushButton("Apply")
        self.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.progressBar = qt.QProgressBar()
        for widget in (self.sampleButton, self.applyButton, self.progressBar):
            form.addRow(widget)

    def addResultWidgets(self, column, headline):
        """``headline`` (large type), the warnings label and a table view, added to ``column``."""
        headline.setStyleSheet("font-size: 14pt; font-weight: bold")
        headline.wordWrap = True
        self.warningsLabel = qt.QLabel("")
        self.warningsLabel.setStyleSheet("color: #c05000")
        self.warningsLabel.wordWrap = True
        self.tableView = slicer.qMRMLTableView()
        self.tableView.setMRMLScene(slicer.mrmlScene)
        for widget in (headline, self.warningsLabel, self.tableView):
            column.addWidget(widget)

    def onSampleButton(self):
        """Add the module's sample data (panels that show a sample button provide it)."""
        raise NotImplementedError

    def startJob(self):
        """Start and return the module's job (a ``lesionai.slicer.jobs.TaskJob``)."""
        raise NotImplementedError

    def jobFinished(self, job):
        """Read ``job``'s result into the scene and show it (errors are shown by the caller)."""
        raise NotImplementedError

    def onApplyButton(self):
        if self._job is not None:
            self.cancelJob()
            return
        if not self.dependenciesReady():
            return
        with slicer.util.tryWithErrorDisplay(f"Could not start {self.title}.", waitCursor=True):
            self._job = self.startJob()
            self.showWarnings([])
            self.setRunning(True)

    def dependenciesReady(self) -> bool:
        """Ask once, outside any busy cursor, to install what the module lacks; False if declined."""
        from lesionai.errors import DependencyError
        from lesionai.slicer.dependencies import ensure_in_slicer

        try:
            ensure_in_slicer(self.title, installing=self.installingDialog)
        except DependencyError as error:
            slicer.util.errorDisplay(f"{self.title} cannot run without its Python packages.\n\n{error}")
            return False
        return True

    @contextlib.contextmanager
    def installingDialog(self, missing):
        """A modal "Installing ..." dialog with a busy bar while pip runs (after the user agreed)."""
        dialog = qt.QProgressDialog(f"Installing {', '.join(missing)} for {self.title}.\n"
                                    "This can take a few minutes; Slicer is not frozen.", None, 0, 0,
                                    slicer.util.mainWindow())
        dialog.setWindowTitle("Installing LesionAI packages")
        dialog.setWindowModality(qt.Qt.WindowModal)
        dialog.minimumDuration = 0
        dialog.show()
        slicer.app.processEvents()
        slicer.app.setOverrideCursor(qt.Qt.WaitCursor)
        try:
            yield
        finally:
            slicer.app.restoreOverrideCursor()
            dialog.close()

    def onPollJob(self):
        self._stopping = [job for job in self._stopping if not self.logic.cancel_done(job)]
        if self._job is None:
            self._stopTimerWhenIdle()
            return
        for event in self._job.poll():
            if event.get("event") == "log":  # the child's log lines reach Slicer's log
                print(f"{self.title}: {event.get('message')}")
        self.progressBar.value = int(round(100 * self._job.fraction))
        self.progressBar.format = f"{self._job.message}  %p%"
        if self._job.running:
            return
        job, self._job = self._job, None
        self.setRunning(False)
        with slicer.util.tryWithErrorDisplay(f"{self.title} failed.", waitCursor=True):
            self.jobFinished(job)

    def cancelJob(self):
        """Ask the running job to stop and return at once; the timer finishes the cancel."""
        if self._job is not None:
            job, self._job = self._job, None
            self.logic.request_cancel(job)
            self._stopping.append(job)
            self.setRunning(False)

    def cleanup(self):
        """The module is closing: stop every job and wait until each is gone."""
        self.cancelJob()
        for job in self._stopping:
            self.logic.cancel(job)
        self._stopping = []
        self._pollTimer.stop()

    def _stopTimerWhenIdle(self):
        if not self._stopping:
            self._pollTimer.stop()

    def setRunning(self, running):
        if running or self._stopping:
            self._pollTimer.start()
        else:
            self._pollTimer.stop()
        self.applyButton.text = "Cancel" if running else "Apply"
        self.progressBar.value = 0
        self.progressBar.visible = running

    def showWarnings(self, warnings):
        self.warningsLabel.text = "\n".join(f"Warning: {warning}" for warning in warnings)
        self.warningsLabel.visible = bool(warnings)
