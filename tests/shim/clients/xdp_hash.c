/* XDP with a hash map (xdp_hash.bpf.c): packets counted by length, odd lengths dropped; the map
 * read through libbpf's bpf_map__* calls, one key deleted and one updated from user space, then
 * the program sees the update. */
#include "client.h"

static void show(struct bpf_map* m, const unsigned* lens, int n) {
  for (int i = 0; i < n; i++) {
    __u32 key = lens[i];
    __u64 v = 0;
    if (bpf_map__lookup_elem(m, &key, sizeof key, &v, sizeof v, 0))
      printf("len %u: none (%s)\n", key, strerror(errno));
    else
      printf("len %u: %llu\n", key, (unsigned long long)v);
  }
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  struct bpf_object* obj = open_object(argv[1]);
  load_object(obj);
  const int fd = prog_fd(obj, "xdp_by_len");
  const unsigned lens[] = {60, 61, 60, 100};
  for (int i = 0; i < 4; i++) test_run(fd, lens[i], 1, 0);
  struct bpf_map* m = find_map(obj, "by_len");
  show(m, lens, 4);
  __u32 key = 61;
  printf("delete 61: %d\n", bpf_map__delete_elem(m, &key, sizeof key, 0));
  const int err = bpf_map__delete_elem(m, &key, sizeof key, 0);
  printf("delete 61 again: %d %s\n", err, strerror(errno));
  key = 100;
  __u64 v = 1000;
  printf("update 100: %d\n", bpf_map__update_elem(m, &key, sizeof key, &v, sizeof v, BPF_EXIST));
  test_run(fd, 100, 1, 0);
  show(m, lens, 4);
  bpf_object__close(obj);
  return 0;
}
