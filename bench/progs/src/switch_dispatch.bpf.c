// Switch dispatch: a small stack machine interpreting the payload as bytecode (16 opcodes, the
// low nibble; the high nibble an operand), as filters with an embedded rule language do.
#include "bench_prog.h"

BENCH_XDP(switch_dispatch) {
  __u8* p = PKT_DATA(ctx);
  __u8* end = PKT_END(ctx);
  __u64 acc = 1, x = 0, y = 7;
  __u32 taken = 0;
  for (int i = 0; i < 512; i++) {
    if (p + i + 1 > end) break;
    __u8 op = p[i];
    __u64 k = op >> 4;
    switch (op & 15) {
      case 0:
        acc += k;
        break;
      case 1:
        acc -= k;
        break;
      case 2:
        acc *= k | 1;
        break;
      case 3:
        acc ^= x;
        break;
      case 4:
        x = acc;
        break;
      case 5:
        y = acc + x;
        break;
      case 6:
        acc = acc << (k & 7);
        break;
      case 7:
        acc = acc >> (k & 7);
        break;
      case 8:
        if (acc & 1) taken++;
        break;
      case 9:
        acc |= k << 8;
        break;
      case 10:
        acc &= ~(k << 4);
        break;
      case 11:
        x ^= y;
        y ^= x;
        x ^= y;
        break;
      case 12:
        acc += y * 3;
        break;
      case 13:
        if (acc > y)
          acc -= y;
        else
          acc += x;
        break;
      case 14:
        taken += (__u32)(acc >> 60);
        break;
      default:
        acc = (acc >> 32) ^ (acc << 7);
        break;
    }
  }
  return (__u32)(acc ^ x ^ y) ^ taken;
}

BENCH_LICENSE;
