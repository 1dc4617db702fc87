// The kernel's UAPI for eBPF, plus the constants newer than the installed <linux/bpf.h> (6.1).
#pragma once

#include <linux/bpf.h>

#ifndef BPF_MEMSX
#define BPF_MEMSX 0x80 /* sign-extending load (6.6) */
#endif
#ifndef BPF_JCOND
#define BPF_JCOND 0xe0 /* conditional pseudo-jumps: may_goto (6.9) */
#endif
#ifndef BPF_MAY_GOTO
#define BPF_MAY_GOTO 0
#endif
#ifndef BPF_LOAD_ACQ
#define BPF_LOAD_ACQ 0x100 /* load-acquire (6.15) */
#endif
#ifndef BPF_STORE_REL
#define BPF_STORE_REL 0x110 /* store-release (6.15) */
#endif
#ifndef BPF_PSEUDO_MAP_IDX
#define BPF_PSEUDO_MAP_IDX 5
#endif
#ifndef BPF_PSEUDO_MAP_IDX_VALUE
#define BPF_PSEUDO_MAP_IDX_VALUE 6
#endif

// Kernel-internal encodings that appear in xlated programs (include/linux/filter.h): the
// speculation barrier the verifier inserts (BPF_ST | BPF_NOSPEC) and its scratch register.
#ifndef BPF_NOSPEC
#define BPF_NOSPEC 0xc0
#endif
#ifndef BPF_REG_AX
#define BPF_REG_AX 11
#endif

// The number of loop iterations may_goto allows before it jumps, as the kernel's BPF_MAX_LOOPS.
#define BPFBOX_MAX_LOOPS (8 * 1024 * 1024)
