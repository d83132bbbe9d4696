"""The new-run form. Its fields come from the operations (each brings its own, ``Presentation.form_fields``);
validation is the engine's own (``prepare_run``): the form only maps its errors onto the fields they
are about, so the page and the command line refuse exactly the same inputs."""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.conf import settings
from django.forms import BoundField

from . import engine
from .claude.endpoint import simulator_is_default
from .errors import InputError
from .model_choice import LOCAL, model_choices
from .operations import get_operation, operations
from .operations.presentation import ParamField, param_fields

DEFAULT_AGENTS = 5
AUTO = "auto"


class AgentCountField(forms.IntegerField):
    """A whole number of agents, or ``auto`` (the cheapest count: runs/agent_count.py)."""

    widget = forms.TextInput

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == AUTO:
            return AUTO
        return super().to_python(value)

    def validate(self, value: Any) -> None:
        if value != AUTO:
            super().validate(value)

    def run_validators(self, value: Any) -> None:
        if value != AUTO:
            super().run_validators(value)


def default_model() -> str:
    return LOCAL if simulator_is_default() else "haiku"


def _declarations() -> list[tuple[str, dict[str, forms.Field]]]:
    """Every operation's fields: its params, the agent count if it takes one, a model per stage if it
    has several (erk uses sonnet to analyse and a larger model to plan)."""
    declared = []
    for op in operations():
        fields = dict(op.presentation.form_fields())
        if op.takes_agent_count:
            fields["agents"] = AgentCountField(
                min_value=1,
                max_value=64,
                initial=AUTO,
                required=False,
                help_text="number of batches, one agent each; auto: the count that costs least",
            )
        if op.stages > 1:
            for stage in range(1, op.stages + 1):
                fields[f"stage_model_{stage}"] = forms.ChoiceField(
                    required=False,
                    label=f"Stage {stage} model",
                    choices=[("", "the run's model"), *model_choices()],
                )
        declared.append((op.name, fields))
    return declared


class NewRunForm(forms.Form):
    operation = forms.ChoiceField()
    model = forms.ChoiceField()
    compare_model = forms.ChoiceField(
        required=False, label="Compare with", help_text="also run this model on the same items, side by side"
    )
    mode = forms.ChoiceField(
        required=False,
        choices=[
            ("live", "live: every turn streamed as it comes"),
            ("batch", "batch: the Message Batches API, half price, slower"),
        ],
        help_text="batch mode needs a Claude model",
    )
    max_cost = forms.DecimalField(
        required=False,
        min_value=Decimal("0.000001"),
        max_digits=12,
        decimal_places=6,
        label="Budget (USD)",
        help_text="refused if the estimate is over it; stops the run before a turn could cross it",
    )
    as_of = forms.DateField(
        required=False,
        label="As of",
        help_text="default: today (UTC)",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._choices("operation", [(op.name, op.title) for op in operations()])
        self._choices("model", model_choices())
        self._choices("compare_model", [("", "no comparison"), *model_choices()])
        self.param_fields: list[ParamField] = param_fields(_declarations())
        for entry in self.param_fields:
            entry.field.help_text = entry.help(prefixed=False)
            self.fields[entry.name] = entry.field
        self.prepared: list[engine.Prepared] = []

    def _choices(self, name: str, choices: list[tuple[str, str]]) -> None:
        cast(forms.ChoiceField, self.fields[name]).choices = choices

    def shared_fields(self) -> list[BoundField]:
        """The fields several operations take, shown above every operation's own."""
        return [self[entry.name] for entry in self.param_fields if entry.shared]

    def sections(self) -> list[tuple[str, list[BoundField]]]:
        """``[(operation name, its own fields)]``: each in a fieldset the page shows for that operation."""
        return [
            (op.name, [self[e.name] for e in self.param_fields if e.operations == [op.name]])
            for op in operations()
        ]

    @classmethod
    def with_defaults(cls, data: Mapping[str, Any] | None = None) -> "NewRunForm":
        first = operations()[0]
        initial = {
            **first.presentation.initial(),
            "operation": first.name,
            "agents": AUTO,
            "model": default_model(),
            "max_cost": settings.ERKWEB_DEFAULT_MAX_COST,
        }
        return cls(data, initial=initial)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        op = get_operation(data["operation"])
        params = {key: data.get(key) or None for key in op.param_fields}
        stage_models = {}
        if op.stages > 1:
            stages = range(1, op.stages + 1)
            stage_models = {n: data[f"stage_model_{n}"] for n in stages if data.get(f"stage_model_{n}")}
        try:
            prepared = engine.prepare_run(
                op.name,
                params,
                model=data["model"],
                # An operation that decides its own agents ignores the count.
                agents=(data.get("agents") or AUTO) if op.takes_agent_count else DEFAULT_AGENTS,
                as_of=data.get("as_of"),
                stage_models=stage_models,
                max_cost=data.get("max_cost"),
                mode=data.get("mode") or "live",
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
