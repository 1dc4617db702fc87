#!/usr/bin/env python3
"""The vm_bench table from ONE run's JSON: ns per run (best_ns) per program and engine, the
geometric-mean ratios jit/kernel, llvm/native, interp/native, and compile time per instruction.

    build/bench/vm/vm_bench --benchmark_out=vm.json --benchmark_out_format=json
    python3 bench/vm/table.py vm.json
"""
import json
import math
import sys

ENGINES = ["interp", "jit", "llvm", "native", "kernel"]


def main(path):
    with open(path) as f:
        run = json.load(f)
    best = {}  # (program, engine) -> ns per run
    compile_us = {}  # (program, engine) -> µs per static instruction
    for b in run["benchmarks"]:
        if b.get("error_occurred") or b.get("run_type") == "aggregate":
            continue
        parts = b["name"].split("/")
        prog, engine = parts[0][len("BM_"):], parts[1]
        if prog.startswith("Compile_"):
            compile_us[(prog[len("Compile_"):], engine)] = b["per_insn"] * 1e6
        elif "best_ns" in b:
            best[(prog, engine)] = b["best_ns"]

    progs = [p for p in dict.fromkeys(p for p, _ in best) if p not in ("EmptyProgram",)]
    print("| program | " + " | ".join(ENGINES) + " | jit/kernel |")
    print("|---|" + "---:|" * (len(ENGINES) + 1))
    for p in progs:
        cells = [f"{best[(p, e)]:.0f}" if (p, e) in best else "—" for e in ENGINES]
        ratio = (f"{best[(p, 'jit')] / best[(p, 'kernel')]:.2f}"
                 if (p, "jit") in best and (p, "kernel") in best else "—")
        print(f"| {p} | " + " | ".join(cells) + f" | {ratio} |")
    if any(p == "EmptyProgram" for p, _ in best):
        cells = [f"{best[('EmptyProgram', e)]:.2f}" if ("EmptyProgram", e) in best else "—"
                 for e in ENGINES]
        print("| EmptyProgram | " + " | ".join(cells) + " | — |")
    print()

    def geomean(a, b):
        r = [best[(p, a)] / best[(p, b)] for p in progs if (p, a) in best and (p, b) in best]
        if not r:
            return "—"
        return f"{math.exp(sum(map(math.log, r)) / len(r)):.2f}x over {len(r)} programs"

    print(f"- geomean jit/kernel: {geomean('jit', 'kernel')}")
    print(f"- geomean jit/native: {geomean('jit', 'native')}")
    print(f"- geomean llvm/native: {geomean('llvm', 'native')}")
    print(f"- geomean interp/native: {geomean('interp', 'native')}")
    print(f"- geomean kernel/native: {geomean('kernel', 'native')}")
    for e in ("jit", "llvm"):
        per = [compile_us[(p, e)] for p in progs if (p, e) in compile_us]
        if per:
            print(f"- {e} compile time per instruction: " + ", ".join(
                f"{p} {compile_us[(p, e)]:.2f} µs" for p in progs if (p, e) in compile_us))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "vm.json")
