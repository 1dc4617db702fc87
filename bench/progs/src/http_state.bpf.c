// A small state machine: an HTTP/1.1 request parser over the TCP payload, table-driven as lexers
// are (a byte class table, a 16x8 transition table, both in .rodata): request line, then header
// lines until the empty line. Counts header lines, the target's length and the Host header's
// value length; 256 bytes at most. The body has no branch on the data but the end checks, so
// the verifier does not follow a path per state.
#include "bench_prog.h"

enum { METHOD, TARGET, VERSION, LF, LINE_START, NAME, VALUE, DONE, BAD };

// byte_class[c]: 0 other, 1 ' ', 2 CR, 3 LF, 4 ':', 5 'A'..'Z', 6 'H' or 'h'.
static const __u8 byte_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0,
    0, 5, 5, 5, 5, 5, 5, 5, 6, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

// next_state[state * 8 + class].
static const __u8 next_state[128] = {
    8, 1, 8, 8, 8, 0, 0, 8, 1, 2, 8, 8, 1, 1, 1, 1, 2, 2, 3, 8, 2, 2, 2, 2, 8, 8, 8, 4, 8, 8, 8, 8,
    5, 8, 7, 8, 8, 5, 5, 5, 5, 5, 8, 8, 6, 5, 5, 5, 6, 6, 3, 8, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7,
    8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
    8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8,
};

BENCH_XDP(http_state) {
  __u8* data = PKT_DATA(ctx);
  __u8* end = PKT_END(ctx);
  __u8* p = data + 54;
  __u32 state = METHOD, headers = 0, target_len = 0, host_len = 0, host = 0;
  for (int i = 0; i < 256; i++) {
    if (p + i + 1 > end) break;
    __u32 cls = byte_class[p[i]];
    __u32 next = next_state[((state & 15) << 3) | cls];
    // Counters as masks, not branches: a header starts on NAME -> VALUE; the target grows while
    // in TARGET; a header named H... of 4 letters ("Host") marks its value.
    __u32 in_target = (__u32)(state == TARGET) & (__u32)(next == TARGET);
    __u32 starts_value = (__u32)(state == NAME) & (__u32)(next == VALUE);
    target_len += in_target;
    headers += starts_value;
    host = (host & (__u32)(next != LINE_START)) | ((__u32)(state == LINE_START) & (cls == 6));
    host_len += host & (__u32)(state == VALUE) & (__u32)(next == VALUE) & (cls != 1);
    state = next;
  }
  return (state << 24) | (headers << 16) | ((host_len & 0xff) << 8) | (target_len & 0xff);
}

BENCH_LICENSE;
