/* A ring buffer (ringbuf.bpf.c) read with libbpf's ring_buffer__new/poll: the records of three
 * runs, in order, then a poll that finds nothing and times out. */
#include "client.h"

static int on_record(void* ctx, void* data, size_t size) {
  (void)ctx;
  const __u32* e = data;
  printf("record size=%zu len=%u first=%u\n", size, e[0], e[1]);
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  struct bpf_object* obj = open_object(argv[1]);
  load_object(obj);
  const int fd = prog_fd(obj, "xdp_events");
  struct ring_buffer* rb =
      ring_buffer__new(bpf_map__fd(find_map(obj, "events")), on_record, NULL, NULL);
  if (!rb) die("ring_buffer__new");
  test_run(fd, 64, 7, 0);
  test_run(fd, 20, 9, 0);
  test_run(fd, 40, 11, 0);
  printf("poll: %d\n", ring_buffer__poll(rb, 1000));
  printf("poll again: %d\n", ring_buffer__poll(rb, 50));
  test_run(fd, 33, 5, 0);
  printf("consume: %d\n", ring_buffer__consume(rb));
  ring_buffer__free(rb);
  bpf_object__close(obj);
  return 0;
}
