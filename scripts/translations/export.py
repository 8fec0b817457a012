"""Export the catalog's msgids (with the Spanish as a reference) to JSON chunks for translators.
usage: export.py PO_FILE OUT_DIR [--only-missing LANG_PO ...]"""

import json, sys, os
import polib

po = polib.pofile(sys.argv[1])
out = sys.argv[2]
skip = set()
for extra in sys.argv[3:]:
    if os.path.exists(extra):
        skip |= {(e.msgctxt or "", e.msgid) for e in polib.pofile(extra) if e.translated()}
entries = []
for e in po:
    if e.obsolete or (e.msgctxt or "", e.msgid) in skip:
        continue
    item = {"id": len(entries), "msgid": e.msgid}
    if e.msgctxt:
        item["context"] = e.msgctxt
    if e.msgid_plural:
        item["msgid_plural"] = e.msgid_plural
        item["es"] = [e.msgstr_plural[k] for k in sorted(e.msgstr_plural)]
    else:
        item["es"] = e.msgstr
    if e.occurrences:
        item["where"] = e.occurrences[0][0]
    entries.append(item)
os.makedirs(out, exist_ok=True)
size = 150
for n, start in enumerate(range(0, len(entries), size)):
    with open(f"{out}/chunk-{n:02d}.json", "w", encoding="utf-8") as fh:
        json.dump(entries[start : start + size], fh, ensure_ascii=False, indent=1)
print(len(entries), "entries in", (len(entries) + size - 1) // size, "chunks")
