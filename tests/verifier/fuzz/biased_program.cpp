#include "biased_program.hpp"

#include <random>

namespace bpfbox::fuzz {

namespace {

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  std::string program() {
    // r6 ctx, r2 data, r3 data_end, r7 a scalar from the context.
    out_ = "r6 = r1\nr2 = *(u32 *)(r6 +0)\nr3 = *(u32 *)(r6 +4)\nr7 = *(u32 *)(r6 +12)\nr0 = 0\n";
    const int n = pick(1, 6);
    for (int i = 0; i < n; ++i) snippet();
    out_ += "r0 = 2\nexit\n";
    return out_;
  }

 private:
  std::mt19937_64 rng_;
  std::string out_;
  int label_ = 0;

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(int percent) { return pick(0, 99) < percent; }
  std::string label() { return "l" + std::to_string(label_++); }
  void line(const std::string& s) { out_ += s + "\n"; }
  static const char* size_name(int size) {
    return size == 1 ? "u8" : size == 2 ? "u16" : size == 4 ? "u32" : "u64";
  }
  int size() { return 1 << pick(0, 3); }

  void snippet() {
    switch (pick(0, 5)) {
      case 0:
        packet_const();
        break;
      case 1:
        packet_var();
        break;
      case 2:
        stack();
        break;
      case 3:
        loop();
        break;
      case 4:
        scalar_noise();
        break;
      default:
        packet_write();
        break;
    }
  }

  // if data + K > data_end skip; access at data + off (off + size sometimes > K).
  void packet_const() {
    const int k = pick(0, 64), sz = size();
    const int off = chance(80) ? pick(0, k > sz ? k - sz : 0) : pick(0, k + 4);
    const std::string skip = label();
    line("r4 = r2");
    line("r4 += " + std::to_string(k));
    line(chance(90) ? "if r4 > r3 goto " + skip : "if r4 < r3 goto " + skip);
    line("r0 = *(" + std::string(size_name(sz)) + " *)(r2 +" + std::to_string(off) + ")");
    line(skip + ":");
  }

  // data + (r7 & mask), checked against data_end for K bytes, accessed within (or past) them.
  void packet_var() {
    const int mask = chance(85) ? (1 << pick(0, 6)) - 1 : 0x7fffffff;
    const int k = pick(1, 16), sz = size();
    const int off = chance(80) ? pick(0, k > sz ? k - sz : 0) : pick(0, k + 2);
    const std::string skip = label();
    line("r5 = r7");
    line("r5 &= " + std::to_string(mask));
    line("r8 = r2");
    line("r8 += r5");
    line("r4 = r8");
    line("r4 += " + std::to_string(k));
    line("if r4 > r3 goto " + skip);
    line("r0 = *(" + std::string(size_name(sz)) + " *)(r8 +" + std::to_string(off) + ")");
    line(skip + ":");
  }

  void packet_write() {
    const int k = pick(1, 32), sz = size();
    const int off = chance(85) ? pick(0, k > sz ? k - sz : 0) : pick(0, k + 2);
    const std::string skip = label();
    line("r4 = r2");
    line("r4 += " + std::to_string(k));
    line("if r4 > r3 goto " + skip);
    line("*(" + std::string(size_name(sz)) + " *)(r2 +" + std::to_string(off) + ") = r7");
    line(skip + ":");
  }

  // Aligned stack slots near both ends, sometimes beyond; a variable offset sometimes.
  void stack() {
    const int sz = size();
    int off = -sz * pick(1, 512 / sz);
    if (chance(10)) off = chance(50) ? -512 - sz : 0;
    const std::string o = (off >= 0 ? "+" : "") + std::to_string(off);
    line("*(" + std::string(size_name(sz)) + " *)(r10 " + o + ") = r7");
    line("r0 = *(" + std::string(size_name(sz)) + " *)(r10 " + o + ")");
    if (chance(30)) {
      line("r5 = r7");
      line("r5 &= " + std::to_string(chance(85) ? 63 : 1023));
      line("r8 = r10");
      line("r8 += -64");
      line("r8 += r5");
      line("*(u8 *)(r8 +0) = r7");
    }
  }

  void loop() {
    const std::string head = label();
    line("r9 = 0");
    line(head + ":");
    line("r0 += r9");
    line("r9 += " + std::to_string(pick(1, 3)));
    line("if r9 < " + std::to_string(pick(1, 40)) + " goto " + head);
  }

  void scalar_noise() {
    static const char* ops[] = {"+=", "-=", "*=", "&=", "|=", "^=", "<<=", ">>=", "/=", "%="};
    const std::string op = ops[pick(0, 9)];
    const int imm = (op == "<<=" || op == ">>=") ? pick(0, 63) : pick(1, 1000);
    line("r0 " + op + " " + std::to_string(imm));
    if (chance(50)) line("r7 " + op + " " + std::to_string(imm));
  }
};

}  // namespace

std::string biased_xdp_program(uint64_t seed) {
  return Gen(seed).program();
}

}  // namespace bpfbox::fuzz
