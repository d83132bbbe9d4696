"""The new-run form. Validation is the engine's own (``prepare_run``): the form only maps its errors
onto the fields they are about, so the page and the command line refuse exactly the same inputs."""

import os

from django import forms
from django.conf import settings

from . import engine
from .errors import InputError
from .executors import LOCAL
from .operations import get_operation, operation_names

DEFAULT_DOCS_ROOT = settings.BASE_DIR / "examples" / "docs" / "learned"


def model_choices() -> list[tuple[str, str]]:
    choices = [(LOCAL, "local: exact, from Python, no LLM")]
    choices += [(alias, f"{alias}: {entry['id']}") for alias, entry in settings.ERKWEB_MODELS.items()]
    return choices


def stage_numbers() -> range:
    """The stages that can have their own model: every stage of the operation with the most, if it has
    more than one (a one-stage run has just its model)."""
    most = max(get_operation(name).stages for name in operation_names())
    return range(1, most + 1) if most > 1 else range(0)


def default_model() -> str:
    return "haiku" if os.environ.get("ANTHROPIC_API_KEY", "").strip() else LOCAL


class NewRunForm(forms.Form):
    operation = forms.ChoiceField()
    docs_root = forms.CharField(
        label="Docs folder",
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"spellcheck": "false"}),
        help_text="learn: default <repo>/docs/learned",
    )
    repo_root = forms.CharField(
        label="Repo root",
        max_length=500,
        required=False,
        help_text="audit-scan: default the docs folder's grandparent; learn: the git repository",
    )
    category = forms.CharField(max_length=200, required=False, help_text="scan only this sub-folder")
    agents = forms.IntegerField(
        min_value=1, max_value=64, initial=5, required=False, help_text="audit-scan only"
    )
    title = forms.CharField(max_length=300, required=False, help_text="learn: what the work was")
    range = forms.CharField(
        label="Revision range",
        max_length=200,
        required=False,
        help_text="learn: BASE..HEAD (default HEAD~1..HEAD)",
    )
    sessions = forms.CharField(
        label="Session logs",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text="learn: .jsonl files or folders, one per line (default: Claude Code's folder for the repo)",
    )
    comments = forms.CharField(
        label="Review comments", max_length=500, required=False, help_text="learn: a JSON file"
    )
    model = forms.ChoiceField()
    compare_model = forms.ChoiceField(
        required=False, label="Compare with", help_text="also run this model on the same items, side by side"
    )
    as_of = forms.DateField(
        required=False,
        label="As of",
        help_text="default: today (UTC)",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["operation"].choices = [(name, get_operation(name).title) for name in operation_names()]
        self.fields["model"].choices = model_choices()
        self.fields["compare_model"].choices = [("", "no comparison"), *model_choices()]
        # learn's stages can each have their own model (erk uses sonnet to analyse, a larger model to plan).
        for stage in stage_numbers():
            self.fields[f"stage_model_{stage}"] = forms.ChoiceField(
                required=False,
                label=f"Stage {stage} model",
                choices=[("", "the run's model"), *model_choices()],
            )
        self.prepared: list[engine.Prepared] = []

    def stage_fields(self):
        return [self[f"stage_model_{stage}"] for stage in stage_numbers()]

    @classmethod
    def with_defaults(cls, data=None):
        initial = {
            "operation": "audit-scan",
            "docs_root": str(DEFAULT_DOCS_ROOT),
            "agents": 5,
            "model": default_model(),
        }
        return cls(data, initial=initial)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        op = get_operation(data["operation"])
        params = {key: data.get(key) or None for key in op.param_fields}
        if "sessions" in params:
            params["sessions"] = [
                line.strip() for line in (data.get("sessions") or "").splitlines() if line.strip()
            ]
        stage_models = {}
        if op.stages > 1:
            stages = range(1, op.stages + 1)
            stage_models = {n: data[f"stage_model_{n}"] for n in stages if data.get(f"stage_model_{n}")}
        try:
            prepared = engine.prepare_run(
                op.name,
                params,
                model=data["model"],
                agents=data.get("agents") or 5,
                as_of=data.get("as_of"),
                stage_models=stage_models,
            )
            self.prepared = [prepared]
            if data.get("compare_model"):
                if data["compare_model"] == data["model"]:
                    raise InputError("pick a different model to compare with", field="compare_model")
                try:
                    self.prepared.append(engine.same_items_with(prepared, data["compare_model"]))
                except InputError as exc:
                    raise InputError(str(exc), field="compare_model") from None
        except InputError as exc:
            self.prepared = []
            self.add_error(exc.field if exc.field in self.fields else None, str(exc))
        return data
