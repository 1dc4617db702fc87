#!/usr/bin/env python3
# The tables of bench/maps/RESULTS.md from maps_bench JSON files (--benchmark_out_format=json):
# each cell the fastest of the runs given. Usage: python3 bench/maps/table.py run1.json run2.json ...
import json, sys, re, collections
runs = [json.load(open(f))['benchmarks'] for f in sys.argv[1:]]
best = {}
for bs in runs:
    for b in bs:
        if b.get('error_occurred'): continue
        n = b['name']
        if 'kernel_ns' in b: v = b['kernel_ns']
        elif 'run_ns' in b: v = b['run_ns']
        else: v = b['cpu_time']
        best[n] = min(best.get(n, 1e18), v)
def cell(name):
    out=[]
    for t in (1,2):
        k = f"{name}/real_time/threads:{t}"
        v = best.get(k)
        out.append('—' if v is None else (f"{v:.1f}" if v < 100 else f"{v:.0f}"))
    return ' / '.join(out)
types = [('ARRAY',2),('PERCPU_ARRAY',6),('HASH',1),('PERCPU_HASH',5),('LRU_HASH',9),('LPM_TRIE',11),('BLOOM_FILTER',30)]
rows = [('bpfbox program-side lookup (peek)','BM_Bpfbox_Prog_Lookup'),('kernel program-side lookup (peek), TEST_RUN','BM_Kernel_Prog_Lookup'),
        ('bpfbox program-side update (push), a run each','BM_Bpfbox_Prog_Update'),('kernel program-side update (push), TEST_RUN','BM_Kernel_Prog_Update'),
        ('bpfbox syscall-side lookup','BM_Bpfbox_Sys_Lookup'),('kernel bpf() lookup (peek)','BM_Kernel_Sys_Lookup'),
        ('bpfbox syscall-side update','BM_Bpfbox_Sys_Update'),('kernel bpf() update (push)','BM_Kernel_Sys_Update')]
print('| ns per op, 1 thread / 2 threads | ' + ' | '.join(t for t,_ in types) + ' |')
print('|---|' + '---|'*len(types))
for label, bm in rows:
    print(f'| {label} | ' + ' | '.join(cell(f'{bm}/type:{n}') for _,n in types) + ' |')
print()
print('| pairs, ns per pair, 1 thread / 2 threads | HASH | PERCPU_HASH | QUEUE | STACK |')
print('|---|---|---|---|---|')
for label,bm in [('bpfbox program side: delete + insert','BM_Bpfbox_Prog_DeleteInsert'),('bpfbox syscall side: delete + insert','BM_Bpfbox_Sys_DeleteInsert'),('kernel bpf(): delete + insert','BM_Kernel_Sys_DeleteInsert'),('bpfbox program side: push + pop','BM_Bpfbox_Prog_PushPop'),('kernel program side: push + pop, TEST_RUN','BM_Kernel_Prog_PushPop'),('kernel bpf(): push + pop','BM_Kernel_Sys_PushPop')]:
    print(f'| {label} | ' + ' | '.join(cell(f'{bm}/type:{n}') for n in (1,5,22,23)) + ' |')
print()
cases=['base','hash','devmap','ringbuf_reserve','ringbuf_output','tail_call','array_of_maps','hash_of_maps']
print('| TEST_RUN, ns per run, 1 thread / 2 threads | ' + ' | '.join(cases) + ' |')
print('|---|' + '---|'*len(cases))
for label,bm in [('bpfbox (bpfbox_bpf, JIT)','BM_Bpfbox_TestRun'),('kernel','BM_Kernel_TestRun')]:
    print(f'| {label} | ' + ' | '.join(cell(f'{bm}/case:{i}') for i in range(len(cases))) + ' |')
print()
print('| other | 1 thread / 2 threads |')
print('|---|---|')
for label,bm in [('RunSlot enter + exit','BM_Bpfbox_RunEnterExit'),('std::unordered_map lookup (shared lock)','BM_Std_Lookup'),('std::unordered_map update (exclusive lock)','BM_Std_Update'),('std::unordered_map erase + emplace','BM_Std_DeleteInsert'),('kernel program with no map call (TEST_RUN floor)','BM_Kernel_Prog_Base/1')]:
    print(f'| {label} | {cell(bm)} |')
