/* What the libbpf test clients share: open and load an object (exit 1 with the reason when
 * libbpf fails), a program's fd by name, and TEST_RUN on a packet. The clients are ordinary
 * programs linked with libbpf only: the kernel or, under LD_PRELOAD=libbpfbox-preload.so, bpfbox
 * serves them, and they print the same lines either way. */
#ifndef BPFBOX_SHIM_CLIENT_H
#define BPFBOX_SHIM_CLIENT_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void die(const char* what) {
  fprintf(stderr, "%s: %s\n", what, strerror(errno));
  exit(1);
}

static inline struct bpf_object* open_object(const char* path) {
  struct bpf_object* obj = bpf_object__open_file(path, NULL);
  if (!obj) die(path);
  return obj;
}

static inline void load_object(struct bpf_object* obj) {
  if (bpf_object__load(obj)) die("bpf_object__load");
}

static inline int prog_fd(struct bpf_object* obj, const char* name) {
  struct bpf_program* p = bpf_object__find_program_by_name(obj, name);
  if (!p) die(name);
  return bpf_program__fd(p);
}

static inline struct bpf_map* find_map(struct bpf_object* obj, const char* name) {
  struct bpf_map* m = bpf_object__find_map_by_name(obj, name);
  if (!m) die(name);
  return m;
}

/* TEST_RUN on `len` bytes of `fill` (first byte `first`); prints and returns the return value. */
static inline unsigned test_run(int fd, unsigned len, unsigned char first, unsigned char fill) {
  unsigned char pkt[256];
  memset(pkt, fill, sizeof pkt);
  pkt[0] = first;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = len);
  if (bpf_prog_test_run_opts(fd, &opts)) die("bpf_prog_test_run_opts");
  printf("run len=%u first=%u: retval %u\n", len, first, opts.retval);
  return opts.retval;
}

#endif
