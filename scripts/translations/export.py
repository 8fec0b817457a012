"""Export the catalog's msgids (with the Spanish as a reference) to JSON chunks for translators.
usage: export.py PO_FILE OUT_DIR [--only-missing LANG_PO ...]
       export.py PO_FILE scripts/translations/src --append

--append adds the msgids that are not yet in the source chunks of OUT_DIR as new chunks, with
ids and chunk numbers that continue the existing ones (existing ids never change, so every
out/<lang>/chunk-NN.json stays valid): translators then write out/<lang>/chunk-NN.json for the
new chunk(s) only."""

import glob, json, sys, os
import polib

po = polib.pofile(sys.argv[1])
out = sys.argv[2]
append = "--append" in sys.argv[3:]
skip = set()
first_id = first_chunk = 0
if append:
    for path in sorted(glob.glob(f"{out}/chunk-*.json")):
        items = json.load(open(path, encoding="utf-8"))
        skip |= {(item.get("context", ""), item["msgid"]) for item in items}
        first_id = max([first_id, *(item["id"] + 1 for item in items)])
        first_chunk = max(first_chunk, int(path.rsplit("-", 1)[1].split(".")[0]) + 1)
for extra in sys.argv[3:]:
    if extra.startswith("--"):
        continue
    if os.path.exists(extra):
        skip |= {(e.msgctxt or "", e.msgid) for e in polib.pofile(extra) if e.translated()}
entries = []
for e in po:
    if e.obsolete or (e.msgctxt or "", e.msgid) in skip:
        continue
    item = {"id": first_id + len(entries), "msgid": e.msgid}
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
    with open(f"{out}/chunk-{first_chunk + n:02d}.json", "w", encoding="utf-8") as fh:
        json.dump(entries[start : start + size], fh, ensure_ascii=False, indent=1)
        fh.write("\n")
print(len(entries), "entries in", (len(entries) + size - 1) // size, "chunks")
