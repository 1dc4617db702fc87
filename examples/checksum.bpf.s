# The Internet checksum (RFC 1071) of the memory r1 points to, r2 bytes long, in the kernel's
# assembly syntax. It shows a loop over packet bytes, a bpf-to-bpf call and a helper.
#
# r0 = the 16-bit one's-complement checksum. Over an IPv4 header whose checksum field is zero it is
# the value that belongs in that field; over a header that already carries a correct checksum it is
# 0. bpf_trace_printk reports the result on stderr as well.
#
#   bpfbox run examples/checksum.bpf.s --mem-file examples/data/ipv4_header.bin   # 0xb861
#   bpfbox run examples/checksum.bpf.s --mem-file examples/data/ipv4_header_ok.bin  # 0x0

  r6 = r1                       # data
  r7 = r2                       # length
  r8 = 0                        # running sum of 16-bit big-endian words
  r9 = 0                        # offset
words:
  r3 = r9
  r3 += 1
  if r3 >= r7 goto odd_byte     # fewer than two bytes left
  r4 = r6
  r4 += r9
  r5 = *(u8 *)(r4 +0)
  r5 <<= 8
  r3 = *(u8 *)(r4 +1)
  r5 |= r3
  r8 += r5
  r9 += 2
  goto words
odd_byte:
  if r9 >= r7 goto sum_done     # an odd length pads the last byte with a zero
  r4 = r6
  r4 += r9
  r5 = *(u8 *)(r4 +0)
  r5 <<= 8
  r8 += r5
sum_done:
  r1 = r8
  call fold                     # bpf-to-bpf call: r0 = the sum folded to 16 bits
  r0 ^= 0xffff                  # one's complement
  r6 = r0                       # r6-r9 survive calls

  # bpf_trace_printk("csum 0x%x over %u bytes\n", 25, csum, length), the format on the stack
  r1 = 0x257830206d757363
  *(u64 *)(r10 -32) = r1
  r1 = 0x25207265766f2078
  *(u64 *)(r10 -24) = r1
  r1 = 0x0a73657479622075
  *(u64 *)(r10 -16) = r1
  r1 = 0
  *(u64 *)(r10 -8) = r1
  r1 = r10
  r1 += -32
  r2 = 25
  r3 = r6
  r4 = r7
  call bpf_trace_printk
  r0 = r6
  exit

# fold(sum): adds the carries above bit 15 back in until none are left (end-around carry).
fold:
  r0 = r1
fold_again:
  r2 = r0
  r2 >>= 16
  if r2 == 0 goto folded
  r0 &= 0xffff
  r0 += r2
  goto fold_again
folded:
  exit
