#!/usr/bin/env python3
"""Checks that src/ is layered: the modules' include graph has no cycle.

A module is a pair src/NAME.c + src/NAME.h. Module A depends on module B when A.c or A.h
includes "B.h". The graph must be acyclic (docs/ARCHITECTURE.md, "Layers"), so each module
uses only modules below it. Prints the layers, lowest first, with --print; exits 1 and names
a cycle when there is one.

Usage: scripts/layers.py [--print] [SRC_DIR]
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_]+)\.h"', re.M)


def read_graph(src):
    graph = {}
    for name in sorted(os.listdir(src)):
        base, ext = os.path.splitext(name)
        if ext not in (".c", ".h"):
            continue
        with open(os.path.join(src, name), encoding="utf-8") as f:
            deps = set(INCLUDE.findall(f.read()))
        graph.setdefault(base, set()).update(d for d in deps if d != base)
    for deps in list(graph.values()):
        for d in deps:
            graph.setdefault(d, set())
    return graph


def find_cycle(graph):
    """Returns one cycle as a list of modules, or None."""
    state = {}
    stack = []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[m] = "done"
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return None


def layers(graph):
    level = {}

    def depth(m):
        if m not in level:
            level[m] = 1 + max((depth(d) for d in graph[m]), default=-1)
        return level[m]

    for m in graph:
        depth(m)
    out = {}
    for m, lv in level.items():
        out.setdefault(lv, []).append(m)
    return [sorted(out[lv]) for lv in sorted(out)]


def main(argv):
    show = "--print" in argv
    args = [a for a in argv if a != "--print"]
    src = args[0] if args else os.path.join(os.path.dirname(__file__), "..", "src")
    graph = read_graph(src)
    cycle = find_cycle(graph)
    if cycle:
        print("layers: include cycle: " + " -> ".join(cycle), file=sys.stderr)
        return 1
    if show:
        for i, mods in enumerate(layers(graph)):
            print(f"{i}: {' '.join(mods)}")
    print(f"layers: {len(graph)} modules, no include cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
