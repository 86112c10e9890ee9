"""Static HTML for the ipywidgets saved in an executed notebook.

A web page has no kernel, so a widget cannot run there. What it can show is the widget as it was
when the notebook was executed: Jupyter saves every widget's state (control values, the PNG an
``ipywidgets.Image`` holds, a progress bar's count) in the notebook's metadata, under
``application/vnd.jupyter.widget-state+json``. :func:`static_widget_outputs` turns each widget
output of a notebook into plain HTML built from that state: the lesson's figure as an image, each
control as its label and value, progress bars as ``<progress>``. Widgets a learner can move get a
line saying they come alive when the notebook is launched.

>>> state = {"a": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_b"]}},
...          "b": {"model_name": "FloatSliderModel", "state": {"description": "lr", "value": 0.5}}}
>>> view = WidgetView(state)
>>> print(view.html("a"))
<div class="course-widget-box course-widget-vbox"><span class="course-widget-control">lr: <b>0.5</b></span></div>
>>> view.interactive, view.problems
(True, [])
"""

from __future__ import annotations

import html
import re

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

ALIVE_NOTE = (
    '<p class="course-widget-note">▶ Interactive widget: this is a picture of its first state. '
    "It comes alive when you launch the notebook (Launch on Binder, at the top of the page, or "
    "the notebook opened in JupyterLab) and move its controls.</p>"
)

_BOXES = {"VBoxModel": "vbox", "HBoxModel": "hbox", "BoxModel": "hbox", "GridBoxModel": "hbox"}
_SLIDERS = {"FloatSliderModel", "FloatLogSliderModel", "IntSliderModel", "BoundedFloatTextModel",
            "BoundedIntTextModel", "FloatTextModel", "IntTextModel", "TextModel"}
_CHOICES = {"DropdownModel", "RadioButtonsModel", "ToggleButtonsModel", "SelectModel"}
_PROGRESS = {"FloatProgressModel", "IntProgressModel"}
_IPY = re.compile(r"^IPY_MODEL_(\w+)$")


def _number(value, fmt=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return html.escape(str(value))
    if isinstance(value, int):
        return str(value)
    try:
        return format(value, fmt or ".3g")
    except ValueError:
        return format(value, ".3g")


class WidgetView:
    """Renders widgets from a notebook's saved widget state (``{model_id: {...}}``)."""

    def __init__(self, state):
        self.state = state
        self.interactive = False  # becomes True once a control a learner can move is rendered
        self.problems = []

    def html(self, model_id):
        model = self.state.get(model_id)
        if model is None:
            self.problems.append(f"widget model {model_id} is not in the notebook's saved widget state")
            return ""
        name, state = model.get("model_name", "?"), model.get("state", {})
        if name in _BOXES:
            children = "".join(self.html(self._ref(child)) for child in state.get("children", []))
            return f'<div class="course-widget-box course-widget-{_BOXES[name]}">{children}</div>'
        if name == "ImageModel":
            return self._image(model, state)
        if name in {"HTMLModel", "HTMLMathModel"}:
            return f'<div class="course-widget-html">{state.get("value", "")}</div>'
        if name == "LabelModel":
            return f'<span class="course-widget-label">{html.escape(str(state.get("value", "")))}</span>'
        if name in _PROGRESS:
            value, top = float(state.get("value", 0)), float(state.get("max", 100))
            return (f'<progress class="course-widget-progress" value="{value:g}" max="{top:g}">'
                    f"{value:g}/{top:g}</progress>")
        if name in _SLIDERS:
            self.interactive = True
            value = _number(state.get("value"), state.get("readout_format"))
            return self._control(state, value)
        if name in _CHOICES:
            self.interactive = True
            labels, index = state.get("_options_labels", []), state.get("index")
            value = labels[index] if isinstance(index, int) and 0 <= index < len(labels) else "-"
            return self._control(state, html.escape(str(value)))
        if name in {"CheckboxModel", "ToggleButtonModel"}:
            self.interactive = True
            mark = "☑" if state.get("value") else "☐"
            return f'<span class="course-widget-control">{mark} {html.escape(state.get("description", ""))}</span>'
        if name in {"ButtonModel"}:
            self.interactive = True
            return f'<span class="course-widget-control">[{html.escape(state.get("description", ""))}]</span>'
        self.problems.append(f"no static view for widget model {name} ({model_id})")
        return ""

    def _ref(self, reference):
        match = _IPY.match(str(reference))
        return match.group(1) if match else str(reference)

    def _control(self, state, value):
        label = html.escape(state.get("description", ""))
        return f'<span class="course-widget-control">{label}{": " if label else ""}<b>{value}</b></span>'

    def _image(self, model, state):
        data = next((b.get("data") for b in model.get("buffers", [])
                     if b.get("path") == ["value"] and b.get("encoding") == "base64"), None)
        if not data:
            self.problems.append("an image widget has no saved picture")
            return ""
        image_format = html.escape(state.get("format", "png"))
        return (f'<img class="course-widget-image" src="data:image/{image_format};base64,{data}" '
                f'alt="the figure of the interactive widget, as first drawn">')


def static_widget_outputs(notebook):
    """Replace every widget output of ``notebook`` (a dict, changed in place) by static HTML.

    Returns the problems found (an empty list when every widget could be drawn). The saved widget
    state is removed from the metadata afterwards, so the page does not try to load the widget
    JavaScript, which needs a kernel and the network.
    """
    widgets_meta = notebook.get("metadata", {}).pop("widgets", {})
    state = widgets_meta.get(WIDGET_STATE, {}).get("state", {})
    problems = []
    for index, cell in enumerate(notebook.get("cells", [])):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW not in data:
                continue
            view = WidgetView(state)
            body = view.html(data[WIDGET_VIEW].get("model_id", ""))
            problems += [f"cell {index}: {problem}" for problem in view.problems]
            note = ALIVE_NOTE if view.interactive else ""
            output["data"] = {"text/html": f'<div class="course-widget">{note}{body}</div>'}
    return problems
