#!/usr/bin/env python3
"""make check-layers: the module rules of DESIGN.md and STYLE.md, checked.

Modules come in one order (the Makefile's MODULES, then daemon/); a module
uses only those before it. From the sources and the built objects:

  includes   a module's file includes its own headers, common/ and generated
             proto/ headers, and of an earlier module only its public header
             mod/mod.h; never a later module, never another's internals.
  headers    a module's headers are mod/mod.h (public) or mod/*_int.h
             (internal); common/ holds only public helpers.
  symbols    every extern symbol a module archive defines carries the module
             prefix (aya_ cfg_ geo_ state_ agent_ gsp_ pol_ dnsd_ ctl_; ayad_
             in the daemon).
  links      a module archive's undefined symbols resolve in itself or in an
             earlier module (a call upwards is a cycle even without an include).
  daemon     no cycle between the daemon's files (who calls whom, from nm).

Usage: check-layers.py BUILD_DIR MODULE...   (exit 1 on any violation)
"""
import os
import re
import subprocess
import sys

PREFIX = {
    "common": "aya_",
    "config": "cfg_",
    "geo": "geo_",
    "state": "state_",
    "agent": "agent_",
    "gossip": "gsp_",
    "policy": "pol_",
    "dnsd": "dnsd_",
    "control": "ctl_",
    "daemon": "ayad_",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(mod):
    out = []
    for name in sorted(os.listdir(mod)):
        if name.endswith((".c", ".h")):
            out.append(os.path.join(mod, name))
    return out


def check_includes(order, errors):
    rank = {m: i for i, m in enumerate(order)}
    for mod in order:
        if mod == "proto" or not os.path.isdir(mod):
            continue
        for path in sources(mod):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for inc in INCLUDE.findall(text):
                other = inc.split("/", 1)[0] if "/" in inc else mod
                if other == mod or other == "common":
                    continue
                if other == "proto" and inc.endswith(".pb-c.h"):
                    continue
                if other not in rank:
                    errors.append(f"{path}: includes {inc}: not a module")
                elif rank[other] > rank[mod]:
                    errors.append(f"{path}: includes {inc}: {other}/ comes after {mod}/")
                elif inc != f"{other}/{other}.h":
                    errors.append(f"{path}: includes {inc}: internal to {other}/")
    return errors


def check_headers(order, errors):
    for mod in order:
        if mod in ("proto", "common", "daemon") or not os.path.isdir(mod):
            continue
        for path in sources(mod):
            name = os.path.basename(path)
            if path.endswith(".h") and name != f"{mod}.h" and not name.endswith("_int.h"):
                errors.append(f"{path}: a header is {mod}/{mod}.h or {mod}/*_int.h")
    if os.path.isdir("common"):
        for path in sources("common"):
            if path.endswith("_int.h"):
                errors.append(f"{path}: common/ has no internal headers")


def nm(paths):
    """{object: (defined globals, undefined)} for archives or objects."""
    out = subprocess.run(["nm", "-A", "-g"] + paths, capture_output=True, text=True,
                         check=True).stdout
    objs = {}
    for line in out.splitlines():
        head, _, rest = line.rpartition(":")
        fields = rest.split()
        if len(fields) < 2:
            continue
        kind, sym = fields[-2], fields[-1]
        d, u = objs.setdefault(head, (set(), set()))
        if kind == "U":
            u.add(sym)
        elif kind in "TDBRVWCGSi":
            d.add(sym)
    return objs


def check_symbols(build, order, errors):
    defined_by = {}
    undefined = {}
    for mod in order:
        lib = os.path.join(build, "lib", f"libaya_{mod}.a")
        if not os.path.exists(lib):
            continue
        d_all, u_all = set(), set()
        for obj, (d, u) in nm([lib]).items():
            d_all |= d
            u_all |= u
        defined_by[mod] = d_all
        undefined[mod] = u_all - d_all
        if mod == "proto":
            continue
        for sym in sorted(d_all):
            if not sym.startswith(PREFIX[mod]):
                errors.append(f"{lib}: extern symbol {sym} lacks the prefix {PREFIX[mod]}")
    later = {}
    for i, mod in enumerate(order):
        later[mod] = {m for m in order[i + 1:] if m in defined_by}
    for mod, syms in undefined.items():
        for sym in sorted(syms):
            for other in later[mod]:
                if sym in defined_by[other]:
                    errors.append(f"{mod}/ calls {sym} of {other}/, which comes after it")


def check_daemon(build, errors):
    objdir = os.path.join(build, "obj", "daemon")
    if not os.path.isdir(objdir):
        return
    # Objects of the sources that exist (a renamed file leaves a stale .o behind).
    objs = sorted(os.path.join(objdir, n) for n in os.listdir(objdir)
                  if n.endswith(".o") and os.path.exists(os.path.join("daemon", n[:-2] + ".c")))
    table = nm(objs)
    name = {o: os.path.basename(o)[:-2] + ".c" for o in table}
    for obj, (d, _) in table.items():
        for sym in sorted(d):
            if sym != "main" and not sym.startswith("ayad_"):
                errors.append(f"daemon/{name[obj]}: extern symbol {sym} lacks the prefix ayad_")
    calls = {o: set() for o in table}
    for a, (_, u) in table.items():
        for b, (d, _) in table.items():
            if a != b and u & d:
                calls[a].add(b)
    # Tarjan's strongly connected components: any with two files is a cycle.
    index, low, stack, on, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(calls[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(comp)

    for v in sorted(calls):
        if v not in index:
            visit(v)
    for comp in comps:
        if len(comp) > 1:
            files = ", ".join(sorted("daemon/" + name[o] for o in comp))
            errors.append(f"daemon/: files call each other in a cycle: {files}")


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    build, order = sys.argv[1], sys.argv[2:] + ["daemon"]
    errors = []
    check_includes(order, errors)
    check_headers(order, errors)
    check_symbols(build, order, errors)
    check_daemon(build, errors)
    for e in errors:
        print(f"check-layers: {e}", file=sys.stderr)
    if errors:
        print(f"check-layers: {len(errors)} violation(s)", file=sys.stderr)
        return 1
    n = sum(len(sources(m)) for m in order if m != "proto" and os.path.isdir(m))
    print(f"check-layers: ok, {len(order)} modules, {n} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
