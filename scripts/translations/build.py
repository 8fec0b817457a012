"""Check a language's translated chunks against the source, and write its .po.
usage: build.py LANG [--write PO_PATH]
Translations: scripts/translations/out/LANG/chunk-NN.json = {"<id>": "text"} or {"<id>": ["form0", ...]}
for entries with msgid_plural (as many forms as the language's nplurals)."""

import glob, json, re, sys, os
import polib

PLURALS = {
    "tl": "nplurals=2; plural=(n > 1);",
    "ko": "nplurals=1; plural=0;",
    "ja": "nplurals=1; plural=0;",
    "zh_Hans": "nplurals=1; plural=0;",
    "zh_Hant": "nplurals=1; plural=0;",
    "vi": "nplurals=1; plural=0;",
    "km": "nplurals=1; plural=0;",
    "hy": "nplurals=2; plural=(n != 1);",
    "fa": "nplurals=2; plural=(n > 1);",
    "ar": "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5);",
    "ru": "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);",
}
PH = re.compile(r"%\([^)]+\)[sdif]|%[sdif]|\{[A-Za-z_0-9]*\}")
TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)")


def nplurals(lang):
    return int(PLURALS[lang].split(";")[0].split("=")[1])


def problems_of(src, text, lang):
    out = []
    texts = text if isinstance(text, list) else [text]
    if "msgid_plural" in src:
        if not isinstance(text, list) or len(text) != nplurals(lang):
            return [f"needs a list of {nplurals(lang)} plural forms"]
    elif isinstance(text, list):
        return ["needs a string, not a list"]
    ref = src["msgid"] + " " + src.get("msgid_plural", "")
    want_ph = sorted(set(PH.findall(ref)))
    want_tags = sorted(TAG.findall(src["msgid"]))
    for t in texts:
        if not isinstance(t, str) or not t.strip():
            out.append("empty")
            continue
        have = sorted(set(PH.findall(t)))
        # A singular form may leave out the count placeholder (e.g. "one item"), never add one.
        missing = [p for p in want_ph if p not in have]
        extra = [p for p in have if p not in want_ph]
        if extra or (missing and "msgid_plural" not in src):
            out.append(f"placeholders differ: want {want_ph}, have {have}")
        if sorted(TAG.findall(t)) != want_tags:
            out.append(f"HTML tags differ: want {want_tags}, have {sorted(TAG.findall(t))}")
    return out


def main():
    lang = sys.argv[1]
    src = {}
    for path in sorted(glob.glob("scripts/translations/src/chunk-*.json")):
        for item in json.load(open(path, encoding="utf-8")):
            src[item["id"]] = item
    done = {}
    for path in sorted(glob.glob(f"scripts/translations/out/{lang}/chunk-*.json")):
        try:
            data = json.load(open(path, encoding="utf-8"))
        except json.JSONDecodeError as exc:
            print(f"{path}: not valid JSON: {exc}")
            continue
        for key, text in data.items():
            done[int(key)] = text
    bad = 0
    for i, text in sorted(done.items()):
        if i not in src:
            print(f"id {i}: not in the source")
            bad += 1
            continue
        for p in problems_of(src[i], text, lang):
            print(f"id {i} ({src[i]['msgid'][:60]!r}): {p}")
            bad += 1
    missing = sorted(set(src) - set(done))
    print(f"{lang}: {len(done)} of {len(src)} translated, {len(missing)} missing, {bad} problems")
    if missing:
        print("missing ids:", missing[:40], "..." if len(missing) > 40 else "")
    if "--write" in sys.argv:
        path = sys.argv[sys.argv.index("--write") + 1]
        po = polib.POFile()
        po.metadata = {
            "Project-Id-Version": "vecinos",
            "MIME-Version": "1.0",
            "Content-Type": "text/plain; charset=UTF-8",
            "Content-Transfer-Encoding": "8bit",
            "Language": lang,
            "Plural-Forms": PLURALS[lang],
            "X-Review-Status": "needs review by a native speaker",
        }
        for i, item in sorted(src.items()):
            if i not in done or problems_of(item, done[i], lang):
                continue
            text = done[i]
            if "msgid_plural" in item:
                entry = polib.POEntry(
                    msgid=item["msgid"],
                    msgid_plural=item["msgid_plural"],
                    msgstr_plural={k: v for k, v in enumerate(text)},
                )
            else:
                entry = polib.POEntry(msgid=item["msgid"], msgstr=text)
            if item.get("context"):
                entry.msgctxt = item["context"]
            po.append(entry)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        po.save(path)
        print("wrote", path, len(po), "entries")
    return 1 if bad or missing else 0


if __name__ == "__main__":
    sys.exit(main())
