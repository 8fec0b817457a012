"""Row ids that come from the outside (a form's choices, an API body, a query string).

A number the id column cannot hold must be refused like any other unknown id, never reach the
database: SQLite raises OverflowError ("Python int too large to convert to SQLite INTEGER") and
PostgreSQL a DataError ("out of range for bigint"), and either is a 500. Django guards its
``exact`` lookups on integer fields, but not ``__in`` (what ModelMultipleChoiceField sends) nor
lookups through a foreign key. Every id is a BigAutoField here (settings.DEFAULT_AUTO_FIELD):
1 to 2**63 - 1.

- ``ModelMultipleChoiceField``: Django's field, whose out-of-range values are an invalid choice
  (Django's own translated "Select a valid choice. … is not one of the available choices.").
- ``ApiId``: the JSON API's type for an id in a body: an integer from 1 to 2**63 - 1, else 422.
- ``parse_id``: a query-string value as an id, or None.
"""

from __future__ import annotations

from typing import Annotated, Any

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connections, models
from pydantic import Field

MAX_ID = 2**63 - 1

ApiId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


def parse_id(value: Any) -> int | None:
    """``value`` (an int or a string of digits) as a row id, 1 to 2**63 - 1; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit()) or len(value.lstrip("0")) > 19:
            return None
        value = int(value)
    if not isinstance(value, int) or not 1 <= value <= MAX_ID:
        return None
    return value


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's ModelMultipleChoiceField; a value the key column cannot hold is an invalid
    choice instead of a database error. Use it for every multiple choice of rows (a test walks
    the project's forms for the plain one)."""

    def clean(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            self._refuse_out_of_range(value)
        return super().clean(value)

    def _refuse_out_of_range(self, values: list | tuple) -> None:
        found = self._key_field()
        if found is None:
            return
        key, (low, high) = found
        for pk in values:
            try:
                number = key.to_python(pk)
            except (ValidationError, TypeError, ValueError):
                continue  # not a number: Django's "… is not a valid value." follows
            if isinstance(number, int) and not low <= number <= high:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": pk},
                )

    def _key_field(self) -> tuple[models.Field, tuple[int, int]] | None:
        """The field the choices are keyed on and the smallest and largest value its column
        holds; None when it is no integer."""
        queryset = self.queryset
        if queryset is None:
            return None
        opts = queryset.model._meta
        try:
            field = opts.pk if not self.to_field_name else opts.get_field(self.to_field_name)
        except FieldDoesNotExist:
            return None
        while field is not None and field.is_relation:
            field = field.target_field
        if not isinstance(field, models.IntegerField):
            return None
        try:
            low, high = connections[queryset.db].ops.integer_field_range(field.get_internal_type())
        except KeyError:
            low, high = None, None
        return field, (-MAX_ID - 1 if low is None else low, MAX_ID if high is None else high)
