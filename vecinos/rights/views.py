"""Public rights pages, the red cards and flyers, and the coordinators' review.

The language of an article is the ``?lang=`` of the URL (links carry it, so the offline copy
of each page is the one asked for), else the interface language, else English.
"""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vecinos.core import audio as audio_files
from vecinos.core import coalition, languages, roles
from vecinos.core.context import phone_display
from vecinos.rights import content, markup, pdf, selectors, services
from vecinos.rights.forms import RecordingForm, VersionForm
from vecinos.rights.models import Article, ArticleVersion

SW_FILE = settings.BASE_DIR / "static" / "js" / "sw.js"


def _language(request: HttpRequest, available: list[languages.Language]) -> languages.Language:
    codes = [lang.code for lang in available]
    for candidate in (request.GET.get("lang"), translation.get_language(), "en"):
        code = languages.normalize(candidate)
        if code in codes:
            return languages.BY_CODE[code]
    return available[0] if available else languages.BY_CODE["en"]


def hotline_number(language: str) -> str:
    """The hotline as the coalition's coordinators set it in the app (the footer's), for this
    language; the environment's VECINOS_HOTLINE_NUMBER only while none is set. The pages, the
    flyer and the cards read only the environment, and showed no number (outside walk)."""
    return coalition.coalition().hotline_for(language) or settings.HOTLINE_NUMBER


def _common(lang: languages.Language) -> dict:
    hotline = hotline_number(lang.code)
    return {
        "content_lang": lang,
        "strings": content.page_strings(lang.code),
        "hotline": hotline,
        "hotline_display": phone_display(hotline),
        "legal_partners": settings.LEGAL_PARTNERS,
    }


def index(request: HttpRequest) -> HttpResponse:
    available = selectors.library_languages()
    lang = _language(request, available)
    editor = selectors.can_edit(request.user)
    context = {
        **_common(lang),
        "versions": selectors.current_versions(lang.code, drafts=editor),
        "languages": available,
        "can_edit": editor,
        "can_record": selectors.can_record(request.user),
    }
    if context["can_edit"]:
        context["coverage"] = selectors.coverage()
    return render(request, "rights/index.html", context)


def article(request: HttpRequest, slug: str) -> HttpResponse:
    item = selectors.get_article(slug)
    if item is None:
        raise Http404
    available = selectors.languages_of(item)
    lang = _language(request, available)
    editor = selectors.can_edit(request.user)
    version = selectors.current_version(item, lang.code, drafts=editor)
    if version is None:
        raise Http404
    context = {
        **_common(lang),
        "article": item,
        "version": version,
        "body": markup.render(version.body),
        "languages": available,
        "can_edit": editor,
        # An edit nobody else reviewed yet: its editors see it, the public the one before.
        "waiting": version.source == version.Source.EDITOR and version.reviewed_by_id is None,
        # Its writer is not offered the review they may not give (outside walk, session 19).
        "can_review": editor
        and version.created_by_id != request.user.pk
        and (version.created_by is None or roles.independent(request.user, version.created_by)),
    }
    return render(request, "rights/article.html", context)


def _pdf_language(code: str) -> str:
    lang = languages.get(code)
    if lang is None or not lang.written or lang.code not in content.available():
        raise Http404
    return lang.code


def _pdf_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "public, max-age=3600"
    return response


def _absolute(name: str) -> str:
    return f"{settings.PUBLIC_URL}{reverse(name)}"


def cards_pdf(request: HttpRequest, lang: str) -> HttpResponse:
    code = _pdf_language(lang)
    data = pdf.cached("cards", code, hotline_number(code), _absolute("subscribe"))
    return _pdf_response(data, f"red-cards-{code}.pdf")


def flyer_pdf(request: HttpRequest, lang: str) -> HttpResponse:
    code = _pdf_language(lang)
    data = pdf.cached(
        "flyer",
        code,
        hotline_number(code),
        _absolute("report_form"),
        f"{_absolute('rights_index')}?lang={code}",
        _absolute("subscribe"),
    )
    return _pdf_response(data, f"flyer-{code}.pdf")


@login_required
@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    if not selectors.can_edit(request.user):
        raise PermissionDenied
    version = get_object_or_404(
        ArticleVersion.objects.select_related("article", "created_by"), pk=pk
    )
    latest = selectors.current_version(version.article, version.language, drafts=True)
    if latest is None or latest.pk != version.pk:
        messages.error(request, _("A newer version exists: review that one."))
    elif version.created_by_id == request.user.pk:
        # A review is a second reading: the writer's own "reviewed" would vouch for nothing.
        messages.error(request, _("Someone other than its writer must review this version."))
    elif version.created_by is not None and not roles.independent(request.user, version.created_by):
        # Nor would an account the writer alone vetted, or the one who alone vetted the writer
        # (outside probe, session 19: a coordinator's own new account "reviewed" false advice
        # onto the public pages).
        messages.error(
            request,
            _(
                "Someone independent of its writer must review this version: not an account "
                "its writer alone vouched for or trained, nor the one who alone vetted its writer."
            ),
        )
    else:
        services.version_mark_reviewed(version=version, actor=request.user)
        messages.success(request, _("Marked as reviewed."))
    url = reverse("rights_article", args=[version.article.slug])
    return redirect(f"{url}?lang={version.language}")


@login_required
def edit(request: HttpRequest, slug: str) -> HttpResponse:
    """A coordinator writes a new version of an article in one language."""
    if not selectors.can_edit(request.user):
        raise PermissionDenied
    item = selectors.get_article(slug)
    lang = languages.get(request.GET.get("lang"))
    if item is None or lang is None or not lang.written:
        raise Http404
    current = selectors.current_version(item, lang.code, drafts=True)
    if request.method == "POST":
        form = VersionForm(request.POST, content_lang=lang)
        if form.is_valid():
            services.version_create(
                article=item, language=lang.code, actor=request.user, **form.cleaned_data
            )
            messages.success(request, _("Saved as a new version. It needs a review."))
            url = reverse("rights_article", args=[item.slug])
            return redirect(f"{url}?lang={lang.code}")
    else:
        initial = (
            {"title": current.title, "summary": current.summary, "body": current.body}
            if current
            else {}
        )
        form = VersionForm(initial=initial, content_lang=lang)
    context = {"form": form, "article": item, "content_lang": lang, "current": current}
    return render(request, "rights/edit.html", context)


@login_required
def translations(request: HttpRequest) -> HttpResponse:
    """Coalition coordinators: per language, strings translated, articles written and
    reviewed, and the native speaker's review of the interface (marked here, audited)."""
    if not selectors.can_mark_languages(request.user):
        raise PermissionDenied
    if request.method == "POST":
        lang = languages.get(request.POST.get("language"))
        if lang is None or lang.reviewed or not languages.has_catalog(lang):
            raise Http404
        reviewed = request.POST.get("reviewed") == "1"
        coalition.set_language_reviewed(lang.code, reviewed, actor=request.user)
        messages.success(request, _("Marked as reviewed.") if reviewed else _("Saved."))
        return redirect("rights_translations")
    context = {
        "rows": selectors.translation_coverage(),
        "total_articles": Article.objects.count(),
    }
    return render(request, "rights/translations.html", context)


@login_required
def recordings(request: HttpRequest) -> HttpResponse:
    """Coalition coordinators upload the recorded rights summary per language (played on the
    hotline)."""
    if not selectors.can_record(request.user):
        raise PermissionDenied
    form = RecordingForm()
    if request.method == "POST":
        lang = languages.get(request.POST.get("language"))
        form = RecordingForm(request.POST, request.FILES)
        if lang is None:
            form.add_error(None, _("Choose a language."))
        elif form.is_valid():
            data = form.cleaned_data["audio"].read(services.MAX_RECORDING_BYTES + 1)
            try:
                services.recording_save(language=lang.code, data=data, actor=request.user)
            except services.RightsError:
                form.add_error("audio", _("Upload an MP3 or WAV file of at most 10 MB."))
            else:
                messages.success(request, _("Recording saved."))
                return redirect("rights_recordings")
    existing = selectors.recordings()
    rows = [
        (lang, existing.get(lang.code), selectors.audio_path(existing[lang.code]))
        if lang.code in existing
        else (lang, None, "")
        for lang in languages.content_languages()
    ]
    return render(request, "rights/recordings.html", {"form": form, "rows": rows})


def audio(request: HttpRequest, token: str) -> HttpResponse:
    """The recording, decrypted, for whoever holds its signed URL (the provider on a call)."""
    found = selectors.audio_of(token)
    if found is None:
        raise Http404
    recording, data = found
    return audio_files.response(data, recording.content_type)


def service_worker(request: HttpRequest) -> HttpResponse:
    """The site's service worker, served under /rights/ so it may keep these pages offline."""
    response = HttpResponse(SW_FILE.read_bytes(), content_type="application/javascript")
    response["Cache-Control"] = "no-cache"
    return response


def offline_urls(request: HttpRequest) -> JsonResponse:
    """What the service worker saves for reading without a connection."""
    index_url = reverse("rights_index")
    urls = [index_url]
    for lang in selectors.library_languages():
        urls.append(f"{index_url}?lang={lang.code}")
        for version in selectors.current_versions(lang.code):
            urls.append(
                f"{reverse('rights_article', args=[version.article.slug])}?lang={lang.code}"
            )
    urls += [static("css/vecinos.css"), static("css/rights.css"), static("js/app.js")]
    urls.append(static("js/rights.js"))
    return JsonResponse({"version": _cache_version(urls), "urls": urls})


def _cache_version(urls: list[str]) -> str:
    latest = ArticleVersion.objects.order_by("-pk").values_list("pk", "reviewed_at").first()
    return hashlib.sha256(json.dumps([urls, str(latest)]).encode()).hexdigest()[:12]
