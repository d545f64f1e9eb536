#!/usr/bin/env python3
"""Keep the man pages in sync with the code (issue 14).

  scripts/check-man.py [--root DIR]

Checks, each failure naming the key, command or option and the page:

  1. `mandoc -Tlint` on man/ayad.8, man/ayactl.8 and man/aya.yaml.5 reports
     nothing: no error, no warning, no style message.
  2. aya.yaml.5 documents every configuration key, and no other. The keys
     come from config/schema.c: every item_t row of every SEC(...) table,
     placed under its path by following the IT_SECTION rows (.sub) and the
     IT_FUNC functions of config/*.c that call cfg_parse_map() on a section
     (a function that walks a sequence makes the path "name[]"). A few keys
     are parsed by hand in config/*.c, not through a table: they are listed
     in HAND_KEYS below, each with the file and the string literal that
     parses it, and a key whose literal is gone fails the check. The page
     documents a key as a tag list item `.It Cm <path>` (e.g.
     `.It Cm zones[].services[].pools[].weight`); every such item must be a
     key. An item must also state the row's default (.dflt) in its text.
     The policy filters (CFG_FILTERS in config/config.h) must appear as
     `.It Ic <name>`.
  3. ayactl.8 names every ayactl command (the cmd_names table of
     control/codec.c, which ayactl parses its command with) as
     `.It Cm <command>` and every keyring operation; ayad.8 and ayactl.8 show
     every long option of their program's getopt_long table (daemon/main.c,
     control/ayactl.c) as `--option` in the rendered text.

Python 3 standard library only; needs mandoc (scripts/deps.sh test).
"""
import argparse
import os
import re
import subprocess
import sys

PAGES = {"ayad": "man/ayad.8", "ayactl": "man/ayactl.8", "conf": "man/aya.yaml.5"}

# Keys inside IT_FUNC values that no schema table describes: (path, file, literal).
# The literal must still be in the file, so that renaming the key in the code
# fails here until the page follows.
HAND_KEYS = [
    ("keys[].name", "config/tsig.c", '"name"'),
    ("keys[].algorithm", "config/tsig.c", '"algorithm"'),
    ("keys[].secret", "config/tsig.c", '"secret"'),
    ("zones[].allow_transfer[].prefix", "config/tsig.c", '"prefix"'),
    ("zones[].allow_transfer[].key", "config/tsig.c", '"key"'),
]

errors = []


def err(msg):
    errors.append(msg)


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        return f.read()


def strip_c_comments(text):
    return re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)


# ---- 1. mandoc -Tlint ----


def check_lint(root):
    for page in PAGES.values():
        path = os.path.join(root, page)
        if not os.path.exists(path):
            err(f"{page}: missing")
            continue
        # -Wall: style messages too, all fatal but one. "STYLE: referenced
        # manual not found: Xr ..." depends on what the machine has installed
        # (the pages name each other before `make install`, and dig(1) or
        # systemd.service(5) may be absent on a build host): not the page's fault.
        # Likewise "outdated mandoc.db lacks X entry": the host's index is stale.
        p = subprocess.run(["mandoc", "-Tlint", "-Wall", path], capture_output=True, text=True)
        lines = [ln for ln in (p.stdout + p.stderr).splitlines()
                 if ln.strip() and "STYLE: referenced manual not found" not in ln
                 and "outdated mandoc.db" not in ln]
        if lines or p.returncode not in (0, 1):
            for line in lines or [f"mandoc exit {p.returncode}"]:
                err(f"{page}: mandoc -Tlint: {line}")


# ---- 2. configuration keys ----


def parse_schema(root):
    """{section var: (rows [(name, type, sub, fn, dflt)], table)} from schema.c."""
    text = strip_c_comments(read(root, "config/schema.c"))
    tables = {}
    for m in re.finditer(r"static const item_t (\w+)\[\] = \{(.*?)\n\};", text, re.S):
        rows = []
        for row in re.finditer(r"\{\s*\.name\s*=\s*\"([^\"]+)\"(.*?)\}(?=\s*,)", m.group(2), re.S):
            body = row.group(2)

            def field(name, body=body):
                f = re.search(r"\." + name + r"\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^,}]+)", body)
                return f.group(1).strip() if f else None

            dflt = field("dflt")
            if dflt is not None:
                dflt = bytes(dflt[1:-1], "utf-8").decode("unicode_escape")
            sub = field("sub")
            rows.append((row.group(1), field("type"), sub.lstrip("&") if sub else None,
                         field("fn"), dflt))
        tables[m.group(1)] = rows
    sections = {}
    for m in re.finditer(r"^SEC\((\w+),\s*\"([^\"]+)\",\s*(\w+)\);", text, re.M):
        sections[m.group(1)] = tables.get(m.group(3), [])
    if "cfg_sec_top" not in sections:
        err("config/schema.c: no SEC(cfg_sec_top, ...): check-man.py cannot read the schema")
    return sections


def parse_fns(root):
    """{cfg_fn_x: (sections it parses with cfg_parse_map, walks a sequence)}."""
    fns = {}
    cdir = os.path.join(root, "config")
    for name in sorted(os.listdir(cdir)):
        if not name.endswith(".c"):
            continue
        text = strip_c_comments(read(root, "config/" + name))
        for m in re.finditer(r"^CFG_FN\((\w+)\)\n\{(.*?)^\}", text, re.S | re.M):
            body = m.group(2)
            secs = re.findall(r"cfg_parse_map\([^;]*?&(cfg_sec_\w+)", body)
            seq = "cfg_y_seq_alloc" in body or "cfg_y_seq_item" in body
            fns[m.group(1)] = (secs, seq)
    return fns


def schema_keys(root):
    """{path: default or None} of every key, and the sections reached."""
    sections = parse_schema(root)
    fns = parse_fns(root)
    keys = {}
    reached = set()

    def walk(sec, prefix):
        if sec in reached:
            return
        reached.add(sec)
        for name, typ, sub, fn, dflt in sections.get(sec, []):
            path = prefix + name
            keys[path] = dflt
            if typ == "IT_SECTION" and sub:
                walk(sub, path + ".")
            elif typ == "IT_FUNC" and fn:
                if fn not in fns:
                    err(f"config/schema.c: key '{path}': function {fn} not found in config/*.c")
                    continue
                subs, seq = fns[fn]
                for s in subs:
                    walk(s, path + ("[]" if seq else "") + ".")

    walk("cfg_sec_top", "")
    for sec in sections:
        if sec not in reached:
            err(f"config/schema.c: section {sec} is not reached from the top level; "
                "teach scripts/check-man.py where its keys live")
    for path, rel, literal in HAND_KEYS:
        if literal not in read(root, rel):
            err(f"{rel}: key '{path}' (HAND_KEYS in scripts/check-man.py) is not parsed "
                f"there any more ({literal} not found): update the list and {PAGES['conf']}")
        keys[path] = None
    return keys


def page_items(text, macro):
    """{argument: item text} of every `.It <macro> arg` of a page."""
    items = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r"\.It\s+(\w+)\s+(\S+)", line)
        if m or line.startswith((".It", ".El", ".Sh", ".Ss")):
            cur = None
        if m and m.group(1) == macro:
            cur = m.group(2)
            items.setdefault(cur, "")
        if cur is not None:
            items[cur] += line + "\n"
    return items


def flatten(roff):
    """Roughly the text of mdoc source, without macros, escapes, spaces and quotes."""
    t = re.sub(r"\\\(dq", '"', roff)
    t = re.sub(r"\\[&e]", lambda m: "" if m.group(0) == "\\&" else "\\", t)
    t = re.sub(r"(^|\s)\.?(Li|Ql|Cm|Ar|Dq|Sq|Pq|Ns|Ic|Ev|Pa|Va|Sy|Em|No|It|Fl|Xo|Xc|Oo|Oc)(?=\s)",
               " ", t, flags=re.M)
    return re.sub(r"[\s\"]", "", t)


def check_conf(root):
    page = PAGES["conf"]
    keys = schema_keys(root)
    text = read(root, page)
    items = page_items(text, "Cm")
    for path in sorted(keys):
        if path not in items:
            err(f"{page}: configuration key '{path}' (config/schema.c) is not documented "
                f"(no '.It Cm {path}')")
            continue
        dflt = keys[path]
        if dflt is not None and re.sub(r"[\s\"]", "", dflt) not in flatten(items[path]):
            err(f"{page}: key '{path}': the schema's default '{dflt}' is not in its text")
    for path in sorted(items):
        if path not in keys:
            err(f"{page}: documents key '{path}', which config/schema.c does not have")
    hdr = strip_c_comments(read(root, "config/config.h"))
    m = re.search(r"#define CFG_FILTERS\(X\)(.*?)\n\n|#define CFG_FILTERS\(X\)(.*?)/\*", hdr, re.S)
    filters = re.findall(r"X\(\s*\w+,\s*(\w+),", (m.group(1) or m.group(2)) if m else "")
    if not filters:
        err("config/config.h: no CFG_FILTERS table: check-man.py cannot read the filters")
    ic = page_items(text, "Ic")
    for f in filters:
        if f not in ic:
            err(f"{page}: policy filter '{f}' (CFG_FILTERS, config/config.h) is not documented "
                f"(no '.It Ic {f}')")


# ---- 3. commands and options ----


def long_options(root, rel):
    text = strip_c_comments(read(root, rel))
    m = re.search(r"struct option \w+\[\] = \{(.*?)\};", text, re.S)
    return re.findall(r"\{\s*\"([\w-]+)\"", m.group(1)) if m else []


def rendered(root, rel):
    p = subprocess.run(["mandoc", "-Tascii", os.path.join(root, rel)], capture_output=True,
                       text=True)
    return re.sub(r".\x08", "", p.stdout)


def check_programs(root):
    for prog, src in (("ayad", "daemon/main.c"), ("ayactl", "control/ayactl.c")):
        page = PAGES[prog]
        opts = long_options(root, src)
        if not opts:
            err(f"{src}: no getopt_long option table found")
        out = rendered(root, page)
        for o in opts:
            if not re.search(r"--" + re.escape(o) + r"\b", out):
                err(f"{page}: {prog} option '--{o}' ({src}) is not documented")
    page = PAGES["ayactl"]
    codec = strip_c_comments(read(root, "control/codec.c"))
    m = re.search(r"cmd_names\[CTL_CMD_COUNT\] = \{(.*?)\};", codec, re.S)
    cmds = re.findall(r"=\s*\"([\w-]+)\"", m.group(1)) if m else []
    if not cmds:
        err("control/codec.c: no cmd_names table found")
    items = page_items(read(root, page), "Cm")
    for c in cmds:
        if c not in items:
            err(f"{page}: ayactl command '{c}' (control/codec.c) is not documented "
                f"(no '.It Cm {c}')")
    for c in items:
        if cmds and c not in cmds:
            err(f"{page}: documents command '{c}', which ayactl does not have")
    src = read(root, "control/ayactl.c")
    # The keyring operations, from the usage text: "  keyring list ...".
    ops = set(re.findall(r"\"  keyring (\w+)", src))
    if not ops:
        err("control/ayactl.c: no keyring operation in usage(): check-man.py cannot read them")
    keyring = items.get("keyring", "")
    for op in sorted(ops):
        if not re.search(r"\b" + op + r"\b", keyring):
            err(f"{page}: 'keyring {op}' (control/ayactl.c) is not documented under keyring")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    a = ap.parse_args()
    check_lint(a.root)
    check_conf(a.root)
    check_programs(a.root)
    for e in errors:
        print(f"check-man: {e}", file=sys.stderr)
    if errors:
        print(f"check-man: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print("check-man: ok: man/ayad.8, man/ayactl.8, man/aya.yaml.5")
    return 0


if __name__ == "__main__":
    sys.exit(main())
