/* A socket filter with a hash map (examples/bpf/sock_hash.bpf.c): TEST_RUN on Ethernet frames,
 * then the map walked with get_next_key and read with lookups, an absent key's ENOENT. */
#include "client.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  struct bpf_object* obj = open_object(argv[1]);
  load_object(obj);
  const int fd = prog_fd(obj, "sock_count");
  /* The filter sees what follows the 14-byte Ethernet header: byte 14 is its first. */
  const unsigned char firsts[] = {7, 7, 0xff, 3};
  for (unsigned i = 0; i < sizeof firsts; i++) {
    unsigned char pkt[64] = {0};
    pkt[14] = firsts[i];
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof pkt);
    if (bpf_prog_test_run_opts(fd, &opts)) die("bpf_prog_test_run_opts");
    printf("frame first=%u: keep %u bytes\n", firsts[i], opts.retval);
  }
  const int map = bpf_map__fd(find_map(obj, "by_first_byte"));
  /* Hash order differs between implementations: collect, then print by key. */
  unsigned long long counts[256] = {0};
  __u32 key, next;
  int n = 0;
  for (int err = bpf_map_get_next_key(map, NULL, &next); !err;
       err = bpf_map_get_next_key(map, &key, &next)) {
    key = next;
    __u64 v = 0;
    if (bpf_map_lookup_elem(map, &key, &v)) die("bpf_map_lookup_elem");
    if (key < 256) counts[key] = v;
    n++;
  }
  printf("entries: %d\n", n);
  for (int k = 0; k < 256; k++)
    if (counts[k]) printf("by_first_byte[%d] = %llu\n", k, counts[k]);
  key = 8;
  __u64 v = 0;
  const int err = bpf_map_lookup_elem(map, &key, &v);
  printf("lookup 8: %d %s\n", err, err ? strerror(errno) : "");
  bpf_object__close(obj);
  return 0;
}
