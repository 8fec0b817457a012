"""A call-out's guidance in every written language, and the language each responder is told in.

The guidance is safety guidance and what to bring (lawful presence only). The composer shows a
field for every written language of the registry, prefilled with ``DEFAULT_GUIDANCE``; the API
takes the same codes. The default texts are data in code, written by the team for the 13
written languages (as ``alerts.wording``'s templates are) and reviewed like code: they still
need a native speaker's review, English excepted.

A responder hears the whole call-out (ask, guidance, enough, updates, stand-down, the link page)
in one language: their own when its catalog ships and the call-out has a guidance text in it,
else Spanish, then English (as alerts fall back), so no message mixes the coordinator's
Spanish guidance into a Korean sentence.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from vecinos.core import languages
from vecinos.messaging.inbound import REPLY_LANGUAGES
from vecinos.mobilize.models import Activation

MAX_GUIDANCE = 480
FALLBACK_LANGUAGES = ("es", "en")

# Carried with every call-out unless the coordinator writes their own (lawful presence only).
DEFAULT_GUIDANCE = {
    "en": (
        "Lawful presence only: witness, document, accompany. Observe and film from a safe "
        "distance. Do not interfere with or touch officers. No weapons. Stay calm and know "
        "your rights: you may remain silent. Bring a charged phone and water. Follow the lead "
        "at the staging point."
    ),
    "es": (
        "Solo presencia legal: ser testigo, documentar, acompañar. Observe y grabe desde una "
        "distancia segura. No interfiera ni toque a los agentes. Nada de armas. Mantenga la "
        "calma y conozca sus derechos: puede guardar silencio. Traiga su teléfono cargado y "
        "agua. Siga a la persona encargada en el punto de reunión."
    ),
    "tl": (
        "Legal na presensya lamang: sumaksi, magdokumento, sumama. Magmasid at mag-video mula "
        "sa ligtas na distansya. Huwag makialam o hawakan ang mga opisyal. Walang armas. "
        "Manatiling kalmado at alamin ang iyong mga karapatan: may karapatan kang manahimik. "
        "Magdala ng teleponong may karga at tubig. Sundin ang namumuno sa tagpuan."
    ),
    "ko": (
        "합법적인 참여만 합니다: 목격, 기록, 동행. 안전한 거리에서 지켜보고 촬영하세요. "
        "요원을 방해하거나 만지지 마세요. 무기는 절대 안 됩니다. 침착함을 유지하고 권리를 "
        "알아 두세요: 묵비권이 있습니다. 충전된 휴대폰과 물을 가져오세요. 집결 장소의 "
        "책임자를 따르세요."
    ),
    "zh-hans": (
        "仅限合法在场：见证、记录、陪同。在安全距离外观察和拍摄。不要干预或触碰执法人员。"
        "不得携带武器。保持冷静，了解您的权利：您有权保持沉默。请带上充好电的手机和水。"
        "在集合点听从负责人的指引。"
    ),
    "zh-hant": (
        "僅限合法在場：見證、記錄、陪同。在安全距離外觀察和拍攝。不要干預或觸碰執法人員。"
        "不得攜帶武器。保持冷靜，了解您的權利：您有權保持沉默。請帶上充好電的手機和水。"
        "在集合點聽從負責人的指引。"
    ),
    "vi": (
        "Chỉ hiện diện hợp pháp: chứng kiến, ghi lại, đồng hành. Quan sát và quay phim từ "
        "khoảng cách an toàn. Không cản trở hay chạm vào nhân viên công lực. Không mang vũ khí. "
        "Giữ bình tĩnh và biết quyền của mình: quý vị có quyền giữ im lặng. Mang theo điện "
        "thoại đã sạc và nước. Làm theo người phụ trách tại điểm tập trung."
    ),
    "hy": (
        "Միայն օրինական ներկայություն՝ վկայել, փաստագրել, ուղեկցել։ Դիտեք և նկարահանեք "
        "անվտանգ հեռավորությունից։ Մի՛ խանգարեք և մի՛ դիպչեք աշխատակիցներին։ Ոչ մի զենք։ "
        "Պահպանեք հանգստությունը և իմացեք ձեր իրավունքները՝ դուք իրավունք ունեք լռելու։ "
        "Վերցրեք լիցքավորված հեռախոս և ջուր։ Հետևեք հավաքատեղիի պատասխանատուին։"
    ),
    "fa": (
        "فقط حضور قانونی: شاهد بودن، مستندسازی، همراهی. از فاصله‌ای امن مشاهده و "
        "فیلم‌برداری کنید. در کار مأموران دخالت نکنید و به آنها دست نزنید. هیچ سلاحی همراه "
        "نداشته باشید. آرام بمانید و حقوق خود را بدانید: شما حق سکوت دارید. تلفن شارژشده و "
        "آب همراه بیاورید. از مسئول محل تجمع پیروی کنید."
    ),
    "ar": (
        "حضور قانوني فقط: الشهادة والتوثيق والمرافقة. راقب وصوّر من مسافة آمنة. لا تتدخل في "
        "عمل الضباط ولا تلمسهم. لا تحمل أي سلاح. حافظ على هدوئك واعرف حقوقك: لك الحق في "
        "التزام الصمت. أحضر هاتفًا مشحونًا وماءً. اتبع المسؤول في نقطة التجمع."
    ),
    "ru": (
        "Только законное присутствие: быть свидетелем, документировать, сопровождать. "
        "Наблюдайте и снимайте с безопасного расстояния. Не вмешивайтесь и не трогайте "
        "сотрудников. Никакого оружия. Сохраняйте спокойствие и знайте свои права: вы можете "
        "хранить молчание. Возьмите заряженный телефон и воду. Следуйте указаниям "
        "ответственного на месте сбора."
    ),
    "km": (
        "វត្តមានស្របច្បាប់តែប៉ុណ្ណោះ៖ ធ្វើជាសាក្សី កត់ត្រា អមដំណើរ។ សង្កេត និងថតវីដេអូពីចម្ងាយ"
        "សុវត្ថិភាព។ កុំរំខាន ឬប៉ះពាល់មន្ត្រី។ ហាមយកអាវុធ។ រក្សាភាពស្ងប់ស្ងាត់ ហើយដឹងពីសិទ្ធិ"
        "របស់អ្នក៖ អ្នកមានសិទ្ធិនៅស្ងៀម។ យកទូរស័ព្ទដែលសាកថ្មពេញ និងទឹក។ ធ្វើតាមអ្នកទទួលខុសត្រូវ"
        "នៅកន្លែងជួបជុំ។"
    ),
    "ja": (
        "合法的な立ち会いのみ：目撃、記録、付き添い。安全な距離から観察・撮影してください。"
        "職員を妨害したり、体に触れたりしないでください。武器は一切持たないでください。"
        "落ち着いて、自分の権利を知っておきましょう：黙秘する権利があります。充電した携帯電話"
        "と水を持参してください。集合場所の責任者の指示に従ってください。"
    ),
}


def guidance_languages() -> list[str]:
    """Codes guidance may be written in: every written language, in the registry's order."""
    return [lang.code for lang in languages.written_languages()]


def field_name(code: str) -> str:
    """The composer's field for a language: "guidance_zh_hans" (a name a template can use)."""
    return "guidance_" + code.replace("-", "_")


def clean(guidance: dict[str, str], errors: dict[str, str]) -> dict[str, str]:
    """The guidance by language (the default when none is given); problems go into ``errors``
    (an unknown code under "guidance", a text too long under its field's name)."""
    known = set(guidance_languages())
    out: dict[str, str] = {}
    for code, text in guidance.items():
        text = (text or "").strip() if isinstance(text, str) else ""
        if not text:
            continue
        if code not in known:
            errors["guidance"] = str(
                gettext_lazy("Unknown language code: %(code)s. Use one of: %(codes)s.")
                % {"code": str(code)[:20], "codes": ", ".join(guidance_languages())}
            )
        elif len(text) > MAX_GUIDANCE:
            errors[field_name(code)] = str(
                gettext_lazy("Keep the guidance under %(n)s characters.") % {"n": MAX_GUIDANCE}
            )
        else:
            out[code] = text
    return out or dict(DEFAULT_GUIDANCE)


def callout_language(activation: Activation, language: str) -> str:
    """The one language a responder is told this call-out in (see the module's docstring)."""
    code = languages.normalize(language, "es")
    written = activation.guidance or {}
    if code in REPLY_LANGUAGES and written.get(code):
        return code
    for fallback in FALLBACK_LANGUAGES:
        if written.get(fallback):
            return fallback
    return "es"


def guidance_for(activation: Activation, language: str) -> tuple[str, str]:
    """(guidance text, its language): ``language``'s, else Spanish, English, then any other."""
    written = activation.guidance or {}
    for code in (language, *FALLBACK_LANGUAGES, *written):
        if written.get(code):
            return written[code], code
    return DEFAULT_GUIDANCE["es"], "es"
