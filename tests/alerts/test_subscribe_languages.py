"""The confirming text of a public sign-up is in the language the person chose, with the reply
word the page told them (found by the outside walk: an Arabic sign-up got a Spanish text saying
"responda SI" while the Arabic page said to send YES)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from tests.twilio_stub import fresh_rate_limits  # noqa: F401  (fixture)
from vecinos.alerts import subscriptions
from vecinos.alerts.models import Subscriber
from vecinos.core import languages
from vecinos.messaging import services as messaging
from vecinos.messaging.models import Delivery
from vecinos.network.phones import phone_index
from vecinos.transports.models import OutboxMessage

TEXT = (
    "Vecinos: reply YES to get alerts for %(area)s (or enter the code %(code)s on the web "
    "page). Reply STOP to cancel."
)


# Rate-limit counters live in Redis on the scaled setup and outlive a test: a key of its own
# keeps these six sign-ups from the same address from using up other tests' allowance.
@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_rate_limits")
@pytest.mark.parametrize("lang", ["ar", "ko", "tl", "zh-hans", "en", "es"])
def test_the_yes_text_is_in_the_language_chosen_on_the_page(client, lang):
    response = client.post(
        reverse("subscribe"),
        {"phone": "(323) 555-0187", "place": "90033", "language": lang, "channels": ["sms"]},
        HTTP_ACCEPT_LANGUAGE=lang,
    )
    assert response.status_code == 200
    sub = Subscriber.objects.get(phone_index=phone_index("+13235550187"))
    delivery = Delivery.objects.get(purpose="subscribe")
    assert delivery.language == lang
    messaging.dispatch()
    sms = OutboxMessage.objects.get()
    with translation.override(lang):
        area = response.context["area"]
        expected = gettext(TEXT) % {"area": area, "code": sub.confirm_code}
    if lang != "en":
        assert expected != TEXT % {"area": area, "code": sub.confirm_code}  # translated
    # The text after the sender's name, as the person's language says it.
    assert expected.startswith("Vecinos")
    assert sms.body.endswith(expected.removeprefix("Vecinos"))
    assert sub.confirm_code in sms.body


def test_a_language_without_texts_gets_them_in_spanish():
    # Spoken only (Mixteco: calls, never texts) or unknown: Spanish; a shipped language: its own.
    assert languages.text_language("mix") == "es"
    assert languages.text_language("xx") == "es"
    assert languages.text_language("zh-hant") == "zh-hant"


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_rate_limits")
@pytest.mark.parametrize("place", ["９００３３", "٩٠٠٣٣", "9003３"])
def test_a_zip_code_in_other_digits_is_read_as_one(client, place):
    # Full-width and Arabic-Indic digits made the ZIP library panic and kill the process.
    response = client.post(
        reverse("subscribe"),
        {"phone": "(323) 555-0189", "place": place, "language": "ja", "channels": ["sms"]},
    )
    assert response.status_code == 200
    area = Subscriber.objects.get(phone_index=phone_index("+13235550189")).areas.get()
    assert round(area.lat, 2) == 34.05 and area.radius_m == 2000
    assert subscriptions.resolve_place(place)[1] == subscriptions.resolve_place("90033")[1]
