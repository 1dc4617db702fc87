/* Tail calls through a PROG_ARRAY (examples/bpf/tail_call.bpf.c): libbpf fills slot 0 from the
 * map's initial value; the slot emptied and filled again from user space. */
#include "client.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  struct bpf_object* obj = open_object(argv[1]);
  load_object(obj);
  const int entry = prog_fd(obj, "tail_entry");
  const int target = prog_fd(obj, "tail_target");
  const int table = bpf_map__fd(find_map(obj, "jump_table"));
  test_run(entry, 64, 0, 0);
  __u32 slot = 0;
  printf("delete slot 0: %d\n", bpf_map_delete_elem(table, &slot));
  test_run(entry, 64, 0, 0);
  __u32 fd = (__u32)target;
  printf("slot 0 = tail_target: %d\n", bpf_map_update_elem(table, &slot, &fd, BPF_ANY));
  test_run(entry, 64, 0, 0);
  slot = 2;
  const int err = bpf_map_update_elem(table, &slot, &fd, BPF_ANY);
  printf("slot 2 (past max_entries): %d %s\n", err, strerror(errno));
  bpf_object__close(obj);
  return 0;
}
