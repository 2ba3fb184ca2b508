"""Static checks that SeverityScoring.py, its .ui file and its parameters agree.

The module widget needs the Slicer application (Qt), so it cannot run here; inside Slicer it is
exercised by SeverityScoringTest. These tests catch what would otherwise only fail there: a
``self.ui.<name>`` with no widget of that name, a ``SlicerParameterName`` that is not a parameter,
a parameter bound to a widget that cannot show its type, or a connection to a missing widget.
"""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ElementTree

import typing

import pytest

from repo_paths import REPO_ROOT as ROOT  # noqa: E402
MODULE_FOLDER = ROOT / "SeverityScoring"
MODULE_SCRIPT = MODULE_FOLDER / "SeverityScoring.py"
PANEL_SCRIPT = MODULE_FOLDER / "SeverityScoringLib" / "widget.py"
UI_FILE = MODULE_FOLDER / "Resources" / "UI" / "SeverityScoring.ui"

if str(MODULE_FOLDER) not in sys.path:
    sys.path.insert(0, str(MODULE_FOLDER))

from SeverityScoringLib import parameters  # noqa: E402  (needs the module folder on sys.path)

# Widget classes whose parameterNodeWrapper connector can show a value of the given type.
WIDGETS_FOR_TYPE = {
    "bool": {"QCheckBox", "ctkCheckBox", "QRadioButton", "QPushButton"},
    "int": {"QSpinBox", "ctkSliderWidget", "QSlider", "ctkRangeWidget"},
    "float": {"QDoubleSpinBox", "ctkDoubleSpinBox", "ctkSliderWidget"},
    "str": {"QLineEdit", "QComboBox", "ctkComboBox", "ctkPathLineEdit"},
}


def ui_tree() -> ElementTree.Element:
    return ElementTree.parse(UI_FILE).getroot()


def ui_widgets() -> dict[str, ElementTree.Element]:
    """Widget name -> its XML element, for every widget in the .ui file."""
    return {widget.get("name"): widget for widget in ui_tree().iter("widget")}


def widget_property(widget: ElementTree.Element, name: str) -> ElementTree.Element | None:
    """The value element (``<string>``, ``<bool>``, ...) of a property set directly on ``widget``."""
    for prop in widget.findall("property"):
        if prop.get("name") == name:
            return prop[0]
    return None


def parameter_bindings() -> dict[str, list[str]]:
    """SlicerParameterName value -> names of the widgets carrying it."""
    bindings: dict[str, list[str]] = {}
    for name, widget in ui_widgets().items():
        value = widget_property(widget, "SlicerParameterName")
        if value is not None:
            bindings.setdefault(value.text, []).append(name)
    return bindings


def script_tree() -> ast.Module:
    """The module file and its panel (``SeverityScoringLib/widget.py``) as one syntax tree."""
    trees = [ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for path in (MODULE_SCRIPT, PANEL_SCRIPT)]
    return ast.Module(body=[statement for tree in trees for statement in tree.body], type_ignores=[])


def ui_attributes_used() -> set[str]:
    """Every ``<name>`` in an expression ``self.ui.<name>`` in the module file and its panel."""
    return {
        node.attr
        for node in ast.walk(script_tree())
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "ui"
        and isinstance(node.value.value, ast.Name)
        and node.value.value.id == "self"
    }


def resource_paths_used() -> list[str]:
    """String arguments of ``self.resourcePath(...)`` calls in SeverityScoring.py."""
    return [
        node.args[0].value
        for node in ast.walk(script_tree())
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "resourcePath"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]


def test_module_script_uses_ui_widgets():
    # guards the AST walk: if it found nothing, the name check below would pass vacuously
    assert {"applyButton", "progressBar", "warningsLabel"} <= ui_attributes_used()
    assert {"globalScoreLabel", "lowConfidenceLabel", "exportTableButton"} <= ui_attributes_used()


def test_every_ui_attribute_used_in_the_script_is_a_widget():
    missing = sorted(ui_attributes_used() - set(ui_widgets()))
    assert not missing, f"SeverityScoring.py uses self.ui.{missing} but SeverityScoring.ui has no such widget"


def test_widget_names_are_unique():
    names = [widget.get("name") for widget in ui_tree().iter("widget")]
    assert len(names) == len(set(names))


def test_every_slicer_parameter_name_is_a_parameter():
    unknown = sorted(set(parameter_bindings()) - set(parameters.field_names()))
    assert not unknown, f"SlicerParameterName values {unknown} are not fields of SeverityScoringParameters"


def test_every_parameter_is_bound_to_exactly_one_widget():
    bindings = parameter_bindings()
    counts = {name: len(bindings.get(name, [])) for name in parameters.field_names()}
    assert all(count == 1 for count in counts.values()), f"widgets per parameter: {counts}"


@pytest.mark.parametrize("field_name", parameters.field_names())
def test_bound_widget_can_show_the_parameter_type(field_name):
    field_type = parameters.SeverityScoringParameters.__dataclass_fields__[field_name].type
    (widget_name,) = parameter_bindings()[field_name]
    widget = ui_widgets()[widget_name]
    if field_type in parameters.NODE_TYPES_OF_ANNOTATION:
        assert widget.get("class") == "qMRMLNodeComboBox"
        node_types = [item.text for item in widget_property(widget, "nodeTypes")]
        # the wrapper sets nodeTypes from the annotation; the .ui should say the same
        assert node_types == list(parameters.NODE_TYPES_OF_ANNOTATION[field_type])
    else:
        assert widget.get("class") in WIDGETS_FOR_TYPE[field_type], f"{widget_name} cannot show a {field_type}"


def test_threads_spin_box_covers_the_allowed_range():
    (widget_name,) = parameter_bindings()["threads"]
    widget = ui_widgets()[widget_name]
    assert int(widget_property(widget, "minimum").text) == 0
    assert int(widget_property(widget, "maximum").text) == parameters.MAX_THREADS


@pytest.mark.parametrize("parameter, text", [
    ("showZones", "Show zones"), ("showOpacity", "Show opacity"), ("showHeatmap", "Show heat map")])
def test_display_toggles_are_labelled_checkboxes(parameter, text):
    (widget_name,) = parameter_bindings()[parameter]
    widget = ui_widgets()[widget_name]
    assert widget.get("class") == "QCheckBox"
    assert widget_property(widget, "text").text == text
    default = getattr(parameters.SeverityScoringParameters(), parameter)
    assert widget_property(widget, "checked").text == str(default).lower()


def test_zone_table_view_follows_the_chosen_table():
    connections = {(c.findtext("sender"), c.findtext("signal"), c.findtext("receiver"), c.findtext("slot"))
                   for c in ui_tree().iter("connection")}
    assert ("outputTableSelector", "currentNodeChanged(vtkMRMLNode*)", "zoneTableView",
            "setMRMLTableNode(vtkMRMLNode*)") in connections


def test_export_button_says_what_it_does():
    assert widget_property(ui_widgets()["exportTableButton"], "text").text == "Export table to CSV..."


def test_connections_refer_to_existing_widgets():
    names = set(ui_widgets())
    for connection in ui_tree().iter("connection"):
        assert connection.findtext("sender") in names
        assert connection.findtext("receiver") in names


def test_node_selectors_get_the_scene():
    receivers = {
        connection.findtext("receiver")
        for connection in ui_tree().iter("connection")
        if connection.findtext("signal") == "mrmlSceneChanged(vtkMRMLScene*)"
    }
    selectors = {name for name, widget in ui_widgets().items() if widget.get("class") == "qMRMLNodeComboBox"}
    assert selectors <= receivers, f"selectors without a scene: {sorted(selectors - receivers)}"


def test_resources_loaded_by_the_script_exist():
    paths = resource_paths_used()
    assert "UI/SeverityScoring.ui" in paths
    for path in paths:
        assert (MODULE_FOLDER / "Resources" / path).is_file(), f"Resources/{path} does not exist"


def test_parameters_module_imports_without_slicer():
    import subprocess

    code = ("import sys; sys.modules['slicer'] = None; "
            "from SeverityScoringLib import parameters; print(parameters.field_names())")
    completed = subprocess.run([sys.executable, "-c", code], cwd=MODULE_FOLDER, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert "inputVolume" in completed.stdout


def test_wrapper_namespace_resolves_node_types_with_mrml():
    slicer = pytest.importorskip("slicer")
    namespace = parameters.wrapper_namespace(slicer)
    annotations = namespace["__annotations__"]
    assert typing.get_args(annotations["inputVolume"]) == (slicer.vtkMRMLScalarVolumeNode,
                                                           slicer.vtkMRMLVectorVolumeNode)  # colour PNGs too
    assert annotations["outputSegmentation"] is slicer.vtkMRMLSegmentationNode
    assert annotations["outputTable"] is slicer.vtkMRMLTableNode
    assert annotations["outputHeatmap"] is slicer.vtkMRMLScalarVolumeNode
    assert all(annotations[name] is bool for name in ("showZones", "showOpacity", "showHeatmap"))
    assert annotations["useGPU"] is bool and annotations["threads"] is int
    assert "inputVolume" not in namespace  # node defaults come from the wrapper (None)
    assert namespace["threads"] == parameters.SeverityScoringParameters().threads
