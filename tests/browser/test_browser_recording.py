"""A dispatcher plays a hotline message in the console queue, in headless Chromium.

The recording is stored encrypted; the browser gets it decrypted from console_media (with byte
ranges), decodes it, and the player survives the queue's live refreshes (hx-preserve).
"""

from __future__ import annotations

import io
import wave

from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.conftest import browser_sign_in, make_member
from vecinos.network.models import Organization, Role, Tier
from vecinos.reports import services
from vecinos.reports.models import Attachment, Report


def one_second_of_tone() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x10\x00\xf0" * 4000)
    return out.getvalue()


def test_the_dispatcher_plays_a_hotline_message_in_the_queue(
    live_server, new_page, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    org = Organization.objects.create(name="Vecinos de Boyle Heights", short_name="boyle")
    dispatcher = make_member(
        "disp.rosa", org=org, roles=(Role.DISPATCHER,), tier=Tier.TRAINED, phone="+12135550121"
    )
    device = TOTPDevice.objects.create(user=dispatcher, name="phone", confirmed=True)
    audio = one_second_of_tone()
    report = services.report_submit(
        data=services.ReportInput(channel="voice", language="es", place_text="(voice message)")
    )
    path = services._store_media(audio, "audio/wav", "recordings")
    assert (settings.MEDIA_ROOT / path).read_bytes()[:4] != b"RIFF"  # encrypted on disk
    Attachment.objects.create(
        report=report,
        kind=Attachment.Kind.RECORDING,
        path=path,
        content_type="audio/wav",
        size=len(audio),
    )
    assert Report.objects.count() == 1

    base = live_server.url
    desk = new_page()
    browser_sign_in(desk, base, "disp.rosa", device, to="/console/")

    player = desk.locator("#console-live audio")
    expect(player).to_have_count(1)
    # The browser fetches, decodes and knows the length of the (decrypted) message.
    duration = player.evaluate(
        """audio => new Promise((ok, fail) => {
            audio.addEventListener('loadedmetadata', () => ok(audio.duration));
            audio.addEventListener('error', () => fail(String(audio.error && audio.error.code)));
            audio.preload = 'auto';
            audio.load();
        })"""
    )
    assert abs(duration - 1.0) < 0.05
    # A new report changes the queue; the refresh keeps the very same player element, so a
    # message being listened to is not cut off.
    player.evaluate("audio => { audio.dataset.mark = 'kept'; }")
    services.report_submit(
        data=services.ReportInput(
            channel="web", language="es", place_text="Soto St & 1st", activity="street"
        )
    )
    expect(desk.locator("#console-live")).to_contain_text("Soto St & 1st")
    expect(desk.locator("#console-live audio[data-mark='kept']")).to_have_count(1)
    assert not desk.problems
