/* A perf buffer (perf_buf.bpf.c) read with libbpf's perf_buffer__new/poll, one page per CPU:
 * the samples of three runs in order, a poll that finds nothing and times out, then runs that
 * overfill the ring without a poll (a full ring keeps one byte free, as the kernel's does): the
 * samples that fit, then a PERF_RECORD_LOST with the count of the others. Pinned to CPU 0, so
 * that the kernel's TEST_RUN writes to CPU 0's event. */
#define _GNU_SOURCE
#include <sched.h>

#include "client.h"

static int samples;

static void on_sample(void* ctx, int cpu, void* data, __u32 size) {
  (void)ctx;
  (void)cpu;
  const __u32* e = data;
  const unsigned char* pkt = (const unsigned char*)data + 8;
  if (++samples > 4 && samples != 131) return; /* the overfill: counted, not printed */
  printf("sample size=%u len=%u first=%u pkt=", size, e[0], e[1]);
  for (__u32 i = 0; i < 8 && 8 + i < size; i++) printf("%02x", pkt[i]);
  printf("\n");
}

static void on_lost(void* ctx, int cpu, __u64 cnt) {
  (void)ctx;
  (void)cpu;
  printf("lost %llu\n", (unsigned long long)cnt);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  if (sched_setaffinity(0, sizeof set, &set)) die("sched_setaffinity");
  struct bpf_object* obj = open_object(argv[1]);
  load_object(obj);
  const int fd = prog_fd(obj, "xdp_perf");
  struct perf_buffer* pb =
      perf_buffer__new(bpf_map__fd(find_map(obj, "events")), 1, on_sample, on_lost, NULL, NULL);
  if (!pb) die("perf_buffer__new");
  test_run(fd, 64, 7, 0xab);
  test_run(fd, 14, 9, 0);
  test_run(fd, 40, 11, 0xcd);
  printf("poll: %d\n", perf_buffer__poll(pb, 1000));
  printf("poll again: %d\n", perf_buffer__poll(pb, 50));
  /* Each sample is 32 bytes (header 8, size 4, event 8, packet 8, padding 4): 127 fit in 4096. */
  unsigned passed = 0;
  for (int i = 0; i < 130; i++) {
    unsigned char pkt[16];
    memset(pkt, i, sizeof pkt);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt, .data_size_in = sizeof pkt);
    if (bpf_prog_test_run_opts(fd, &opts)) die("bpf_prog_test_run_opts");
    passed += opts.retval == XDP_PASS;
  }
  printf("overfill: %u of 130 written\n", passed);
  samples = 3;
  printf("poll: %d\n", perf_buffer__poll(pb, 1000));
  printf("samples: %d\n", samples - 3);
  test_run(fd, 15, 5, 0x11);
  printf("poll: %d\n", perf_buffer__poll(pb, 1000));
  printf("buffers: %zu\n", perf_buffer__buffer_cnt(pb) > 0 ? (size_t)1 : (size_t)0);
  perf_buffer__free(pb);
  bpf_object__close(obj);
  return 0;
}
