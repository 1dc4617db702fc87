/* Global data (examples/bpf/xdp_count.bpf.c): .rodata set before load and frozen, .bss and .data
 * read through an mmap of their maps (what a skeleton does) and through lookups; a store through
 * the mapping is seen by the program. */
#include <sys/mman.h>
#include <unistd.h>

#include "client.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  struct bpf_object* obj = open_object(argv[1]);
  struct bpf_map* rodata = find_map(obj, "xdp_coun.rodata");
  const __u32 min_len = 32;
  if (bpf_map__set_initial_value(rodata, &min_len, sizeof min_len)) die("set_initial_value");
  load_object(obj);
  const int fd = prog_fd(obj, "xdp_count");
  test_run(fd, 64, 1, 1);
  test_run(fd, 20, 1, 1);
  test_run(fd, 40, 1, 1);
  const long page = sysconf(_SC_PAGESIZE);
  struct bpf_map* bss = find_map(obj, "xdp_coun.bss");
  volatile __u64* packets =
      mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(bss), 0);
  if (packets == MAP_FAILED) die("mmap .bss");
  printf(".bss packets = %llu\n", (unsigned long long)*packets);
  *packets = 1000;
  test_run(fd, 64, 1, 1);
  printf(".bss packets after a store and a run = %llu\n", (unsigned long long)*packets);
  munmap((void*)packets, page);
  __u32 zero = 0;
  __u64 bytes = 0;
  if (bpf_map__lookup_elem(find_map(obj, "xdp_coun.data"), &zero, sizeof zero, &bytes, sizeof bytes,
                           0))
    die("lookup .data");
  printf(".data bytes_seen = %llu\n", (unsigned long long)bytes);
  const volatile __u32* ro = mmap(NULL, page, PROT_READ, MAP_SHARED, bpf_map__fd(rodata), 0);
  if (ro == MAP_FAILED) die("mmap .rodata");
  printf(".rodata min_len = %u\n", *ro);
  munmap((void*)ro, page);
  void* w = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(rodata), 0);
  printf("writable mmap of .rodata: %s\n", w == MAP_FAILED ? strerror(errno) : "mapped");
  __u32 one = 1;
  const int err = bpf_map__update_elem(rodata, &zero, sizeof zero, &one, sizeof one, 0);
  printf("update .rodata: %d %s\n", err, strerror(errno));
  __u64 verdict[2] = {0, 0};
  for (__u32 k = 1; k <= 2; k++)
    if (bpf_map__lookup_elem(find_map(obj, "verdicts"), &k, sizeof k, &verdict[k - 1],
                             sizeof verdict[0], 0))
      die("lookup verdicts");
  printf("verdicts: drop %llu pass %llu\n", (unsigned long long)verdict[0],
         (unsigned long long)verdict[1]);
  /* A writable mapping keeps a map from being frozen; once unmapped it does not. */
  LIBBPF_OPTS(bpf_map_create_opts, mm, .map_flags = BPF_F_MMAPABLE);
  const int arr = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mm", 4, 8, 4, &mm);
  if (arr < 0) die("bpf_map_create");
  void* rw = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, arr, 0);
  if (rw == MAP_FAILED) die("mmap");
  int r = bpf_map_freeze(arr);
  printf("freeze while mapped writable: %d %s\n", r, r ? strerror(errno) : "");
  munmap(rw, page);
  r = bpf_map_freeze(arr);
  printf("freeze after munmap: %d\n", r);
  bpf_object__close(obj);
  return 0;
}
