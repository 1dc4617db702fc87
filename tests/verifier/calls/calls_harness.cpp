#include "calls_harness.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "isa/assembler.hpp"
#include "kernel_bpf.hpp"

namespace bpfbox::calls_test {

namespace {

// lddw immediates standing for map references until they are resolved.
constexpr uint32_t kMapTag = 0x7eadbeef;
constexpr uint32_t kValueTag = 0x7eadbeee;

}  // namespace

Harness::Harness(uint32_t prog_type, std::vector<MapSpec> maps)
    : prog_type_(prog_type), specs_(std::move(maps)) {
  const auto& unavailable = testsupport::kernel_bpf_unavailable();
  if (unavailable) kernel_unavailable_ = *unavailable;
  for (const MapSpec& s : specs_) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.map_type = s.type;
    attr.key_size = s.key_size;
    attr.value_size = s.value_size;
    attr.max_entries = s.max_entries;
    attr.map_flags = s.flags;
    auto m = maps::Map::create(attr);
    EXPECT_TRUE(m.is_ok()) << m.status().message();
    maps_.push_back(m.is_ok() ? m.value() : nullptr);
    int err = 0;
    kmaps_.push_back(kernel_unavailable_.empty()
                         ? testsupport::kernel_map_create(s.type, s.key_size, s.value_size,
                                                          s.max_entries, s.flags, &err)
                         : testsupport::KernelMap());
    if (kernel_unavailable_.empty() && err)
      kernel_unavailable_ = "kernel map creation failed: " + std::string(std::strerror(err));
  }
}

namespace {

// Every "NAME[N]" becomes prefix + N + " ll". No std::regex: GCC 12 warns inside it under the
// sanitizers, and the build has -Werror.
std::string replace_indexed(const std::string& text, const std::string& name,
                            const std::string& prefix) {
  const std::string open = name + "[";
  std::string out;
  size_t i = 0;
  for (;;) {
    const size_t p = text.find(open, i);
    if (p == std::string::npos) break;
    const size_t d = p + open.size();
    size_t e = d;
    while (e < text.size() && text[e] >= '0' && text[e] <= '9') ++e;
    if (e == d || e >= text.size() || text[e] != ']') {
      out += text.substr(i, d - i);
      i = d;
      continue;
    }
    out += text.substr(i, p - i) + prefix + text.substr(d, e - d) + " ll";
    i = e + 1;
  }
  return out + text.substr(i);
}

}  // namespace

std::vector<struct bpf_insn> Harness::assemble(const std::string& text) const {
  std::string t = replace_indexed(text, "map_value", "0x7eadbeee0000000");
  t = replace_indexed(t, "map", "0x7eadbeef0000000");
  auto r = isa::assemble(t, isa::Syntax::Kernel);
  EXPECT_TRUE(r.is_ok()) << r.status().message() << "\n" << t;
  return r.is_ok() ? r.value() : std::vector<struct bpf_insn>{};
}

std::vector<struct bpf_insn> Harness::resolve(const std::string& text, bool kernel_fds) const {
  std::vector<struct bpf_insn> insns = assemble(text);
  for (size_t i = 0; i + 1 < insns.size(); ++i) {
    if (insns[i].code != (BPF_LD | BPF_IMM | BPF_DW)) continue;
    const uint32_t hi = static_cast<uint32_t>(insns[i + 1].imm);
    if (hi == kMapTag || hi == kValueTag) {
      const size_t n = static_cast<size_t>(insns[i].imm);
      insns[i].src_reg = hi == kMapTag ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE;
      insns[i].imm = kernel_fds ? kmaps_.at(n).fd() : static_cast<int32_t>(1000 + n);
      insns[i + 1].imm = 0;
    }
    ++i;
  }
  return insns;
}

Outcome Harness::bpfbox(const std::string& text, verifier::Program* program, bool gpl) const {
  const std::vector<struct bpf_insn> insns = resolve(text, false);
  verifier::Options opts;
  opts.load.prog_type = prog_type_;
  opts.load.gpl_compatible = gpl;
  opts.log_level = 1;
  opts.log_size = 1 << 20;
  opts.map_by_fd = [this](int fd) -> Result<std::shared_ptr<maps::Map>> {
    const size_t n = static_cast<size_t>(fd - 1000);
    if (fd < 1000 || n >= maps_.size()) return Status(EBADF, "no such map");
    return maps_[n];
  };
  verifier::VerifyResult r = verifier::verify(insns, opts);
  if (program && r.program) *program = std::move(*r.program);
  std::string log = r.log;
  if (!r.status.is_ok() && log.find(r.status.message()) == std::string::npos)
    log += "(status: " + r.status.message() + ")\n";
  return Outcome{r.status.err(), log};
}

std::optional<Outcome> Harness::kernel(const std::string& text, std::string* why, bool gpl) const {
  if (!kernel_unavailable_.empty()) {
    *why = kernel_unavailable_;
    return std::nullopt;
  }
  const std::vector<struct bpf_insn> insns = resolve(text, true);
  testsupport::KernelLoad load;
  load.prog_type = prog_type_;
  load.insns = insns;
  load.license = gpl ? "GPL" : "Proprietary";
  testsupport::KernelVerdict v = testsupport::kernel_verify(load);
  return Outcome{v.err, v.log};
}

}  // namespace bpfbox::calls_test
