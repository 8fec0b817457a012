"""The alert templates of every kind, in every written language the coalition ships.

A dispatcher fills the facts once (the place, the time, and for updates, corrections and notices
what to do or other details) and every language's message is produced from these texts. They are
data, kept in code so a change is reviewed like code; coordinators still edit the Spanish and
English texts on the compose page, and the review page shows every language before sending.

NEEDS NATIVE REVIEW: the texts other than Spanish and English were written by the team, not by
native speakers (``REVIEWED`` lists the languages a native speaker has checked). Place and time
are written as "place: {area}" in languages whose grammar would otherwise change the place name
(Armenian, Russian).

Placeholders: ``{area}`` the place, ``{time}`` the time, ``{details}`` what to do or other
details. Every text of a kind uses the same placeholders (a test holds this).
"""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from vecinos.core import languages as registry
from vecinos.core.coalition import brand_sms
from vecinos.rights import selectors as rights
from vecinos.rights.models import Article

PLACEHOLDERS = ("area", "time", "details")
MISSING_FACT = gettext_lazy("Fill this in: the message in every language needs it.")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Languages a native speaker has reviewed the alert templates of.
REVIEWED: frozenset[str] = frozenset({"en"})

SIGHTING, ACTIVATION, UPDATE = "sighting", "activation", "update"
ALL_CLEAR, CORRECTION, NOTICE = "all_clear", "correction", "notice"

TEMPLATES: dict[str, dict[str, str]] = {
    SIGHTING: {
        "es": (
            "Vecinos: operativo de inmigración CONFIRMADO cerca de {area} a las {time}. "
            "Conozca sus derechos: no abra la puerta sin una orden firmada por un juez."
        ),
        "en": (
            "Vecinos: CONFIRMED immigration operation near {area} at {time}. "
            "Know your rights: do not open the door without a warrant signed by a judge."
        ),
        "tl": (
            "Vecinos: KUMPIRMADONG operasyon ng imigrasyon malapit sa {area} noong {time}. "
            "Alamin ang inyong mga karapatan: huwag buksan ang pinto kung walang warrant na "
            "pirmado ng hukom."
        ),
        "ko": (
            "Vecinos: {time}, {area} 인근에서 이민 단속이 확인되었습니다. 권리를 아십시오: "
            "판사가 서명한 영장이 없으면 문을 열지 마십시오."
        ),
        "zh-hans": (
            "Vecinos: 已确认 {time} 在 {area} 附近有移民执法行动。了解您的权利："
            "没有法官签署的搜查令，请不要开门。"
        ),
        "zh-hant": (
            "Vecinos: 已確認 {time} 在 {area} 附近有移民執法行動。了解您的權利："
            "沒有法官簽署的搜查令，請不要開門。"
        ),
        "vi": (
            "Vecinos: ĐÃ XÁC NHẬN có hoạt động của cơ quan di trú gần {area} lúc {time}. "
            "Hãy biết quyền của quý vị: không mở cửa nếu không có lệnh do thẩm phán ký."
        ),
        "hy": (
            "Vecinos: ՀԱՍՏԱՏՎԱԾ ներգաղթային գործողություն։ Վայրը՝ {area}, ժամը՝ {time}։ "
            "Իմացեք ձեր իրավունքները. մի՛ բացեք դուռը առանց դատավորի ստորագրած օրդերի։"
        ),
        "fa": (
            "Vecinos: عملیات اداره مهاجرت در نزدیکی {area} در ساعت {time} تأیید شد. "
            "حقوق خود را بدانید: بدون حکمی که قاضی امضا کرده باشد، در را باز نکنید."
        ),
        "ar": (
            "Vecinos: تأكّدت عملية لسلطات الهجرة قرب {area} في الساعة {time}. "
            "اعرف حقوقك: لا تفتح الباب دون أمر موقّع من قاضٍ."
        ),
        "ru": (
            "Vecinos: ПОДТВЕРЖДЕНА операция иммиграционной службы. Место: {area}, время: {time}. "
            "Знайте свои права: не открывайте дверь без ордера, подписанного судьёй."
        ),
        "km": (
            "Vecinos: បានបញ្ជាក់ថាមានប្រតិបត្តិការអន្តោប្រវេសន៍នៅជិត {area} នៅម៉ោង {time}។ "
            "ដឹងពីសិទ្ធិរបស់អ្នក៖ កុំបើកទ្វារ បើគ្មានដីកាដែលចៅក្រមបានចុះហត្ថលេខា។"
        ),
        "ja": (
            "Vecinos: {time}、{area}付近で入管当局の摘発が確認されました。権利を知ってください："
            "裁判官の署名した令状がなければドアを開けないでください。"
        ),
    },
    ACTIVATION: {
        "es": (
            "Vecinos: ACTIVACIÓN. Se necesitan observadores cerca de {area} desde las {time}. "
            "Observe y documente desde una distancia segura; no interfiera."
        ),
        "en": (
            "Vecinos: ACTIVATION. Observers needed near {area} from {time}. "
            "Observe and record from a safe distance; do not interfere."
        ),
        "tl": (
            "Vecinos: ACTIVATION. Kailangan ng mga tagamasid malapit sa {area} mula {time}. "
            "Magmasid at mag-record mula sa ligtas na distansya; huwag makialam."
        ),
        "ko": (
            "Vecinos: 출동 요청. {time}부터 {area} 인근에 참관인이 필요합니다. "
            "안전한 거리에서 지켜보고 기록하십시오. 개입하지 마십시오."
        ),
        "zh-hans": (
            "Vecinos: 紧急动员。{time} 起需要观察员前往 {area} 附近。"
            "请在安全距离观察并记录，不要干预。"
        ),
        "zh-hant": (
            "Vecinos: 緊急動員。{time} 起需要觀察員前往 {area} 附近。"
            "請在安全距離觀察並記錄，不要干預。"
        ),
        "vi": (
            "Vecinos: HUY ĐỘNG. Cần người quan sát gần {area} từ {time}. "
            "Hãy quan sát và ghi hình từ khoảng cách an toàn; không can thiệp."
        ),
        "hy": (
            "Vecinos: ԿԱՆՉ։ Դիտորդներ են պետք։ Վայրը՝ {area}, ժամը՝ {time}-ից։ "
            "Դիտեք և տեսագրեք անվտանգ հեռավորությունից. մի՛ միջամտեք։"
        ),
        "fa": (
            "Vecinos: فراخوان. از ساعت {time} به ناظر در نزدیکی {area} نیاز است. "
            "از فاصله‌ای امن مشاهده و ثبت کنید؛ دخالت نکنید."
        ),
        "ar": (
            "Vecinos: استنفار. مطلوب مراقبون قرب {area} ابتداءً من الساعة {time}. "
            "راقبوا ووثّقوا من مسافة آمنة؛ لا تتدخلوا."
        ),
        "ru": (
            "Vecinos: СБОР. Нужны наблюдатели. Место: {area}, с {time}. "
            "Наблюдайте и снимайте с безопасного расстояния; не вмешивайтесь."
        ),
        "km": (
            "Vecinos: ការហៅប្រមូលផ្តុំ។ ត្រូវការអ្នកសង្កេតការណ៍នៅជិត {area} ចាប់ពីម៉ោង {time}។ "
            "សង្កេត និងថតពីចម្ងាយសុវត្ថិភាព កុំជ្រៀតជ្រែក។"
        ),
        "ja": (
            "Vecinos: 出動要請。{time}から{area}付近で見守る人が必要です。"
            "安全な距離から見守り、記録してください。介入はしないでください。"
        ),
    },
    UPDATE: {
        "es": "Vecinos: ACTUALIZACIÓN sobre {area} ({time}): {details}",
        "en": "Vecinos: UPDATE about {area} ({time}): {details}",
        "tl": "Vecinos: UPDATE tungkol sa {area} ({time}): {details}",
        "ko": "Vecinos: {area} 관련 새 소식 ({time}): {details}",
        "zh-hans": "Vecinos: 关于 {area} 的最新消息（{time}）：{details}",
        "zh-hant": "Vecinos: 關於 {area} 的最新消息（{time}）：{details}",
        "vi": "Vecinos: CẬP NHẬT về {area} ({time}): {details}",
        "hy": "Vecinos: ԹԱՐՄԱՑՈՒՄ (վայրը՝ {area}, ժամը՝ {time}). {details}",
        "fa": "Vecinos: خبر تازه درباره {area} ({time}): {details}",
        "ar": "Vecinos: تحديث بشأن {area} ({time}): {details}",
        "ru": "Vecinos: ОБНОВЛЕНИЕ (место: {area}, время: {time}): {details}",
        "km": "Vecinos: ព័ត៌មានថ្មីអំពី {area} ({time})៖ {details}",
        "ja": "Vecinos: {area}についての続報（{time}）：{details}",
    },
    ALL_CLEAR: {
        "es": (
            "Vecinos: TODO DESPEJADO en {area} a las {time}. El operativo terminó. "
            "Gracias por cuidarse unos a otros."
        ),
        "en": (
            "Vecinos: ALL CLEAR in {area} as of {time}. The operation has ended. "
            "Thank you for looking out for each other."
        ),
        "tl": (
            "Vecinos: LIGTAS NA sa {area} simula {time}. Tapos na ang operasyon. "
            "Salamat sa pag-aalaga sa isa't isa."
        ),
        "ko": (
            "Vecinos: {time} 현재 {area} 상황 종료. 단속이 끝났습니다. 서로 살펴 주셔서 감사합니다."
        ),
        "zh-hans": "Vecinos: 截至 {time}，{area} 已解除警报。执法行动已结束。感谢大家互相照应。",
        "zh-hant": "Vecinos: 截至 {time}，{area} 已解除警報。執法行動已結束。感謝大家互相照應。",
        "vi": (
            "Vecinos: ĐÃ AN TOÀN tại {area} tính đến {time}. Hoạt động đã kết thúc. "
            "Cảm ơn mọi người đã quan tâm đến nhau."
        ),
        "hy": (
            "Vecinos: ՎՏԱՆԳԸ ԱՆՑԵԼ Է։ Վայրը՝ {area}, ժամը՝ {time}։ Գործողությունն ավարտվել է։ "
            "Շնորհակալություն միմյանց հոգ տանելու համար։"
        ),
        "fa": (
            "Vecinos: خطر در {area} از ساعت {time} برطرف شد. عملیات به پایان رسید. "
            "از اینکه مراقب یکدیگر هستید، سپاسگزاریم."
        ),
        "ar": (
            "Vecinos: زال الخطر في {area} منذ الساعة {time}. انتهت العملية. "
            "شكرًا لأنكم تعتنون ببعضكم."
        ),
        "ru": (
            "Vecinos: ОТБОЙ. Место: {area}, время: {time}. Операция закончилась. "
            "Спасибо, что заботитесь друг о друге."
        ),
        "km": (
            "Vecinos: អស់គ្រោះថ្នាក់នៅ {area} គិតត្រឹមម៉ោង {time}។ ប្រតិបត្តិការបានបញ្ចប់។ "
            "អរគុណដែលបានមើលថែគ្នាទៅវិញទៅមក។"
        ),
        "ja": (
            "Vecinos: {time}現在、{area}の警戒は解除されました。摘発は終わりました。"
            "互いに気を配ってくださり、ありがとうございます。"
        ),
    },
    CORRECTION: {
        "es": "Vecinos: CORRECCIÓN a la alerta sobre {area}: {details}",
        "en": "Vecinos: CORRECTION to the alert about {area}: {details}",
        "tl": "Vecinos: PAGWAWASTO sa alerto tungkol sa {area}: {details}",
        "ko": "Vecinos: {area} 관련 알림 정정: {details}",
        "zh-hans": "Vecinos: 关于 {area} 警报的更正：{details}",
        "zh-hant": "Vecinos: 關於 {area} 警報的更正：{details}",
        "vi": "Vecinos: ĐÍNH CHÍNH cảnh báo về {area}: {details}",
        "hy": "Vecinos: ՈՒՂՂՈՒՄ ահազանգում (վայրը՝ {area}). {details}",
        "fa": "Vecinos: اصلاحیه هشدار درباره {area}: {details}",
        "ar": "Vecinos: تصحيح للتنبيه بشأن {area}: {details}",
        "ru": "Vecinos: ИСПРАВЛЕНИЕ к оповещению (место: {area}): {details}",
        "km": "Vecinos: ការកែតម្រូវការជូនដំណឹងអំពី {area}៖ {details}",
        "ja": "Vecinos: {area}に関するアラートの訂正：{details}",
    },
    NOTICE: {
        "es": "Vecinos: AVISO. {details}",
        "en": "Vecinos: NOTICE. {details}",
        "tl": "Vecinos: PAUNAWA. {details}",
        "ko": "Vecinos: 공지. {details}",
        "zh-hans": "Vecinos: 通知。{details}",
        "zh-hant": "Vecinos: 通知。{details}",
        "vi": "Vecinos: THÔNG BÁO. {details}",
        "hy": "Vecinos: ԾԱՆՈՒՑՈՒՄ. {details}",
        "fa": "Vecinos: اطلاعیه. {details}",
        "ar": "Vecinos: إشعار. {details}",
        "ru": "Vecinos: ОБЪЯВЛЕНИЕ. {details}",
        "km": "Vecinos: សេចក្តីជូនដំណឹង។ {details}",
        "ja": "Vecinos: お知らせ。{details}",
    },
}


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def needed_facts(kind: str) -> list[str]:
    """The facts the kind's templates need, in the order the composer asks for them."""
    used: set[str] = set()
    for text in TEMPLATES.get(kind, {}).values():
        used |= placeholders(text)
    return [name for name in PLACEHOLDERS if name in used]


def template_languages() -> list[str]:
    """The written languages alert templates ship in, in the registry's order."""
    return [lang.code for lang in registry.written_languages()]


def local_time(when: datetime, language: str) -> str:
    when = timezone.localtime(when)
    if language == "en":
        return when.strftime("%I:%M %p").lstrip("0")
    return when.strftime("%H:%M")


def fill(text: str, facts: dict[str, str]) -> str:
    """Fill the placeholders ``facts`` has a (non-blank) value for; leave the others."""

    def one(match: re.Match) -> str:
        value = (facts.get(match.group(1)) or "").strip()
        return value or match.group(0)

    return PLACEHOLDER.sub(one, text)


_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def facts_in(language: str, facts: dict[str, str]) -> dict[str, str]:
    """The facts as ``language`` writes them: a 24-hour "15:05" reads "3:05 PM" in English."""
    time = (facts.get("time") or "").strip()
    match = _HHMM.fullmatch(time)
    if language == "en" and match:
        hour, minute = int(match.group(1)), match.group(2)
        suffix = "AM" if hour < 12 else "PM"
        return {**facts, "time": f"{(hour % 12) or 12}:{minute} {suffix}"}
    return facts


def with_details(text: str, details: str) -> str:
    """A text with no place for the details (a sighting's, an all-clear's) takes them at its
    end: what the dispatcher wrote under "What to do, or other details" always goes out (it
    was dropped: outside walk). A text that has them already, or a {details} slot, is kept."""
    details = (details or "").strip()
    if not details or "{details}" in text or details in text:
        return text
    return f"{text.rstrip()} {details}"


def messages_for(
    kind: str, facts: dict[str, str], details_in: dict[str, str] | None = None
) -> dict[str, str]:
    """Every language's message of ``kind`` with the facts filled (unfilled placeholders stay:
    ``missing_facts`` names them, and ``rules.validate_messages`` refuses them); details the
    kind has no place for go at the end (``with_details``). ``details_in`` holds details
    written in a language of its own (by language code): that language's message takes them
    instead of the details as typed for every language."""
    made = {}
    for lang, text in TEMPLATES.get(kind, {}).items():
        if lang not in template_languages():
            continue
        own = ((details_in or {}).get(lang) or "").strip()
        here = {**facts, "details": own} if own else facts
        made[lang] = brand_sms(
            fill(with_details(text, here.get("details", "")), facts_in(lang, here))
        )
    return made


def missing_facts(kind: str, facts: dict[str, str]) -> list[str]:
    return [name for name in needed_facts(kind) if not (facts.get(name) or "").strip()]


# --- a rights article attached to the message ---------------------------------------------------


def rights_choices() -> list[tuple[str, str]]:
    """(slug, title) of the rights library's articles, titled in the interface language when
    the article is written in it, else in English."""

    titles = {v.article.slug: v.title for v in rights.current_versions("en")}
    here = registry.normalize(translation.get_language(), "en")
    titles.update({v.article.slug: v.title for v in rights.current_versions(here)})
    return [
        (slug, titles[slug])
        for slug in Article.objects.values_list("slug", flat=True)
        if slug in titles
    ]


def rights_link(slug: str, language: str, written_in: set[str]) -> str:
    url = f"{settings.PUBLIC_URL}{reverse('rights_article', args=[slug])}"
    return f"{url}?lang={language}" if language in written_in else url


def attach_rights(messages: dict[str, str], slug: str) -> dict[str, str]:
    """Each language's message with the article's link appended: the article in that language
    when it is written in it (else the page picks the reader's language)."""
    article = rights.get_article(slug) if slug else None
    if article is None:
        return messages
    written_in = {lang.code for lang in rights.languages_of(article)}
    return {
        lang: f"{text} {rights_link(slug, lang, written_in)}" if text.strip() else text
        for lang, text in messages.items()
    }
