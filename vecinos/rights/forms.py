from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from vecinos.rights import markup

MAX_BODY = 20_000


class VersionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    summary = forms.CharField(
        label=_("Summary (SMS and voice)"),
        max_length=480,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    body = forms.CharField(
        label=_("Text"),
        max_length=MAX_BODY,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text=_(
            'Paragraphs are separated by an empty line; a line starting with "- " is a list '
            'item; "## " starts a heading; **bold**. Nothing else (no links, no HTML).'
        ),
    )

    def __init__(self, *args, content_lang=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if content_lang is not None:
            # Only what is typed is in the article's language: labels, hints and errors stay
            # in the interface's (a right-to-left form would flip their punctuation).
            for field in self.fields.values():
                field.widget.attrs.update(lang=content_lang.code, dir=content_lang.direction)

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if not markup.blocks(body):
            raise forms.ValidationError(_("Write the text of the article."))
        return body


class RecordingForm(forms.Form):
    audio = forms.FileField(
        label=_("Recording (MP3 or WAV, at most 10 MB)"),
        widget=forms.ClearableFileInput(attrs={"accept": "audio/mpeg,audio/wav"}),
    )
