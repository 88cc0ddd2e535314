#!/usr/bin/env python3
"""`make lint`: the modules of the gateway depend on each other without a
cycle.  A module is a name: its header (in include/, or beside its source when
private; NAME_private.h is module NAME's) and its source in a folder
of src/, backends/, middleware/ or migrate/.  Module A depends on B when A's source
or header includes B's header.  Prints every cycle found (one strongly
connected set of modules a line, with the includes that close it) and
exits 1; exits 0 when there is none.  With --self-test it first shows it
finds a cycle made on purpose in a throwaway tree."""
import glob
import os
import re
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def module(name):
    """NAME_private.h belongs to module NAME."""
    return name[:-len("_private")] if name.endswith("_private") else name


def graph(root):
    edges, why = {}, {}
    headers = []
    for d in ("include", "src/*", "backends", "middleware", "migrate"):
        headers += glob.glob(os.path.join(root, d, "*.h"))
    files = list(headers)
    for d in ("src", "src/*", "backends", "middleware", "migrate"):
        files += glob.glob(os.path.join(root, d, "*.c"))
    headers = {module(os.path.splitext(os.path.basename(h))[0]) for h in headers}
    for f in files:
        mod = module(os.path.splitext(os.path.basename(f))[0])
        with open(f) as fh:
            for inc in map(module, re.findall(r'^#include "([^"/]+)\.h"', fh.read(), re.M)):
                if inc != mod and inc in headers:
                    edges.setdefault(mod, set()).add(inc)
                    why.setdefault((mod, inc), os.path.relpath(f, root))
    return edges, why


def cycles(edges):
    """Tarjan's strongly connected components of more than one module."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
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
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def self_test():
    """a.c includes b.h, b.h includes c.h, c.c includes a.h: one cycle of three."""
    tmp = tempfile.mkdtemp(prefix="cutover-lint-")
    try:
        files = {"include/a.h": "", "include/b.h": '#include "c.h"\n', "include/c.h": "",
                 "src/a.c": '#include "a.h"\n#include "b.h"\n', "src/c.c": '#include "a.h"\n#include "c.h"\n',
                 "src/d.c": '#include "a.h"\n'}
        for name, text in files.items():
            os.makedirs(os.path.join(tmp, os.path.dirname(name)), exist_ok=True)
            with open(os.path.join(tmp, name), "w") as f:
                f.write(text)
        found = cycles(graph(tmp)[0])
    finally:
        shutil.rmtree(tmp)
    if found != [["a", "b", "c"]]:
        print("include_cycles: the self-test found %r, not the cycle a, b, c" % found)
        return False
    return True


def main():
    if "--self-test" in sys.argv and not self_test():
        return 1
    edges, why = graph(ROOT)
    found = cycles(edges)
    for comp in found:
        inside = ["%s -> %s (%s)" % (a, b, why[(a, b)]) for a in comp for b in sorted(edges.get(a, ()))
                  if b in comp]
        print("include cycle among %s:\n  %s" % (", ".join(comp), "\n  ".join(inside)))
    if not found:
        print("include graph: %d modules, %d dependencies, no cycle" % (
            len(set(edges) | {b for s in edges.values() for b in s}), sum(len(s) for s in edges.values())))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
