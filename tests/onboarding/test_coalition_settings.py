"""Coalition settings: edited by a coalition coordinator, audited, used by pages and texts."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from vecinos.core.coalition import brand_sms, coalition, invalidate
from vecinos.core.models import AuditEvent, CoalitionSettings

pytestmark = pytest.mark.django_db

URL = "/orgs/coalition/"


def _form(**overrides):
    data = {
        "name": "Red de Respuesta Rápida del Valle",
        "short_name": "RRV",
        "hotline_default": "(213) 555-0199",
        "hotline_en": "",
        "hotline_es": "213 555 0198",
        "public_contact": "info@example.org",
        "accent_color": "#7A1F5C",
        "languages": ["en", "es"],
        "time_zone": "America/Los_Angeles",
    }
    data.update(overrides)
    return data


def _png_with_metadata() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Somebody Secret")
    img = Image.new("RGB", (900, 300), (200, 30, 90))
    out = io.BytesIO()
    img.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def test_defaults_come_from_the_environment_on_first_start(settings):
    settings.COALITION_DEFAULTS = {
        **settings.COALITION_DEFAULTS,
        "name": "Coalición de Prueba",
        "short_name": "CDP",
        "hotline": {"default": "+12135550100"},
    }
    assert not CoalitionSettings.objects.exists()
    invalidate()
    current = coalition()
    assert current.name == "Coalición de Prueba" and current.hotline_for("es") == "+12135550100"
    assert CoalitionSettings.objects.get().short_name == "CDP"


@pytest.mark.parametrize("who", ["coordinator", "dispatcher", "newcomer", "outsider"])
def test_only_a_coalition_coordinator_may_edit(personas, login, who):
    client = login(getattr(personas, who))
    assert client.get(URL).status_code == 403
    assert client.post(URL, _form()).status_code == 403
    assert coalition().short_name == "Vecinos"


def test_anonymous_is_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302 and "/signin/" in response["Location"]


def test_coordinator_saves_settings_audited_and_pages_and_texts_use_them(personas, login):
    client = login(personas.coalition)
    logo = SimpleUploadedFile("logo.png", _png_with_metadata(), content_type="image/png")
    response = client.post(URL, {**_form(), "logo": logo}, follow=True)
    assert response.status_code == 200
    assert "Coalition settings saved." in response.content.decode()
    row = CoalitionSettings.objects.get()
    assert row.hotline == {"default": "+12135550199", "es": "+12135550198"}
    assert row.accent_color == "#7a1f5c"
    event = AuditEvent.objects.get(action="coalition.settings_update")
    assert event.actor == personas.coalition and "short_name" in event.detail["changed"]
    assert "logo" in event.detail["changed"]

    # The logo is served by us, re-encoded: a PNG without the text chunk it was uploaded with.
    served = client.get("/coalition-logo.png?v=1")
    assert served["Content-Type"] == "image/png"
    body = b"".join(served.streaming_content) if served.streaming else served.content
    assert b"Somebody Secret" not in body
    with Image.open(io.BytesIO(body)) as img:
        assert img.format == "PNG" and max(img.size) <= 512 and not img.text

    css = client.get("/coalition.css").content.decode()
    assert "--brand:#7a1f5c" in css

    page = client.get("/me/").content.decode()
    assert "RRV" in page and 'href="tel:+12135550199"' in page
    assert brand_sms("Vecinos: thanks, we know you got it.") == "RRV: thanks, we know you got it."
    # The Chinese and Japanese texts' full-width colon, and the HELP reply's opening words.
    assert brand_sms("Vecinos：已取消。") == "RRV：已取消。"
    assert brand_sms("Vecinos community alerts. Text JOIN") == "RRV community alerts. Text JOIN"
    assert brand_sms("Vecinosa: not the name") == "Vecinosa: not the name"
    # The opening is the first 40 characters: a name starting there is the sender's, one
    # further on (or running on into a longer word at the end of the searched part) is not.
    at_40 = "x" * 39 + " Vecinos: hi"
    assert brand_sms(at_40) == "x" * 39 + " RRV: hi"
    assert brand_sms("x" * 40 + " Vecinos: hi") == "x" * 40 + " Vecinos: hi"
    assert brand_sms("x" * 39 + " Vecinosz") == "x" * 39 + " Vecinosz"


def test_spanish_visitor_sees_the_spanish_hotline(personas, login, client):
    CoalitionSettings.objects.create(
        pk=1, name="X", short_name="X", hotline={"default": "+12135550199", "es": "+12135550198"}
    )
    invalidate()
    page = client.get("/report/", HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert 'href="tel:+12135550198"' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("accent_color", "red", "six hex digits"),
        ("time_zone", "Mars/Olympus", "time zone"),
        ("hotline_default", "not a phone", "Enter a phone number"),
        ("short_name", ":", "Enter a short name"),
    ],
)
def test_bad_input_gets_a_clear_message_and_nothing_is_saved(
    personas, login, field, value, message
):
    client = login(personas.coalition)
    response = client.post(URL, _form(**{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert coalition().short_name == "Vecinos"


def test_a_logo_that_is_not_an_image_is_refused_in_spanish(personas, login):
    client = login(personas.coalition)
    logo = SimpleUploadedFile("logo.png", b"<svg>not a png</svg>", content_type="image/png")
    response = client.post(URL, {**_form(), "logo": logo}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    assert "El logotipo debe ser una imagen PNG, JPEG o WebP." in response.content.decode()
    assert coalition().short_name == "Vecinos"


def test_texts_sent_start_with_the_short_name(personas):
    from vecinos.messaging.models import Delivery
    from vecinos.messaging.services import DeliverySpec, contact_point, deliveries_enqueue

    CoalitionSettings.objects.create(pk=1, name="Red", short_name="RRV")
    invalidate()
    contact = contact_point(channel="sms", address="+12135550111")
    deliveries_enqueue(
        [
            DeliverySpec(
                purpose="test", contact=contact, body="Vecinos: hello", language="en", key="k1"
            )
        ]
    )
    assert Delivery.objects.get().body == "RRV: hello"


@pytest.mark.parametrize(
    "text,branded",
    [
        ("Vecinos: hello", "RRV: hello"),
        ("Vecinos call-out AB12: we need", "RRV call-out AB12: we need"),
        ("Convocatoria de Vecinos AB12: necesitamos", "Convocatoria de RRV AB12: necesitamos"),
        ("استنفار Vecinos AB12: نحتاج", "استنفار RRV AB12: نحتاج"),
        ("Vecinos՝ շնորհակալություն", "RRV՝ շնորհակալություն"),
        ("Vecinos៖ សូមអរគុណ", "RRV៖ សូមអរគុណ"),
        ("Vecinos：谢谢", "RRV：谢谢"),
        # Only the sender's name: a title or a place further on is left alone.
        ("Vecinos: Vecinos Unidos starts at 5", "RRV: Vecinos Unidos starts at 5"),
        ("A place opened up at the Boyle Heights march of Vecinos Unidos", None),
        ("VecinosUnidos: hi", None),
    ],
)
def test_the_sender_is_named_by_the_short_name_in_every_language(personas, text, branded):
    """Outside walk, session 17: the Spanish call-out began "Convocatoria de Vecinos", and
    Armenian and Khmer texts "Vecinos՝", "Vecinos៖": none was named by the coalition."""
    from vecinos.core.coalition import brand_sms

    CoalitionSettings.objects.create(pk=1, name="Red", short_name="RRV")
    invalidate()
    assert brand_sms(text) == (branded if branded is not None else text)
