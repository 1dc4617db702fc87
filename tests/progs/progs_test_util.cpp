#include "progs_test_util.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "isa/assembler.hpp"
#include "progs/helper_table.hpp"

namespace bpfbox::testprogs {

std::vector<struct bpf_insn> assemble(const std::string& text) {
  auto r = isa::assemble(text, isa::Syntax::Kernel);
  if (!r) {
    std::fprintf(stderr, "test program does not assemble: %s\n%s\n", r.status().message().c_str(),
                 text.c_str());
    std::abort();
  }
  return std::move(r).value();
}

namespace {

bool is_jump(const bpf_insn& i) {
  const uint8_t cls = BPF_CLASS(i.code), op = BPF_OP(i.code);
  return (cls == BPF_JMP || cls == BPF_JMP32) && op != BPF_CALL && op != BPF_EXIT;
}

}  // namespace

Result<std::vector<bpf_insn>> rewrite_ctx(const ProgTypeOps& ops, std::span<const bpf_insn> prog,
                                          const ProgLoadContext& load) {
  std::vector<std::vector<bpf_insn>> out(prog.size());
  uint32_t ctx_regs = 1u << 1;  // registers holding the context pointer
  for (size_t pc = 0; pc < prog.size(); pc++) {
    const bpf_insn& insn = prog[pc];
    const uint8_t cls = BPF_CLASS(insn.code), mode = BPF_MODE(insn.code);
    const bool load_insn = cls == BPF_LDX && (mode == BPF_MEM || mode == BPF_MEMSX);
    const bool store_insn = (cls == BPF_STX || cls == BPF_ST) && mode == BPF_MEM;
    const uint8_t base = load_insn ? insn.src_reg : insn.dst_reg;
    if ((load_insn || store_insn) && (ctx_regs >> base & 1)) {
      const AccessType type = load_insn ? AccessType::Read : AccessType::Write;
      static const uint32_t kBytes[4] = {4, 2, 1, 8};  // BPF_W, BPF_H, BPF_B, BPF_DW
      const uint32_t bytes = kBytes[BPF_SIZE(insn.code) >> 3];
      CtxAccessInfo info;
      info.is_ldsx = mode == BPF_MEMSX;
      if (!ops.is_valid_access(insn.off, bytes, type, load, &info))
        return Status(EACCES, "invalid bpf_context access off=" + std::to_string(insn.off) +
                                  " size=" + std::to_string(bytes));
      // The kernel's narrow-load handling (convert_ctx_accesses).
      bpf_insn widened = insn;
      const uint32_t field = info.ctx_field_size;
      const bool narrow = type == AccessType::Read && field && bytes < field;
      if (narrow) {
        const uint8_t size_code = field == 4 ? BPF_W : field == 8 ? BPF_DW : BPF_H;
        widened.off = static_cast<int16_t>(insn.off & ~int16_t(field - 1));
        widened.code = BPF_LDX | BPF_MEM | size_code;
      }
      bpf_insn buf[ProgTypeOps::kMaxCtxRewrite + 3];
      uint32_t target_size = 0;
      uint32_t cnt = ops.convert_ctx_access(type, widened, buf, &target_size);
      if (cnt == 0 || cnt >= ProgTypeOps::kMaxCtxRewrite || (field && !target_size))
        return Status(EFAULT, "bpf verifier is misconfigured (pc " + std::to_string(pc) + ")");
      if (narrow && bytes < target_size) {
        const int32_t shift = (insn.off & (field - 1)) * 8;
        const uint8_t alu = field <= 4 ? BPF_ALU : BPF_ALU64;
        if (shift) buf[cnt++] = {uint8_t(alu | BPF_RSH | BPF_K), insn.dst_reg, 0, 0, shift};
        buf[cnt++] = {uint8_t(BPF_ALU | BPF_AND | BPF_K), insn.dst_reg, 0, 0,
                      int32_t((1ull << bytes * 8) - 1)};
      }
      if (mode == BPF_MEMSX)  // sign-extend what was loaded: movsx dst, dst
        buf[cnt++] = {uint8_t(BPF_ALU64 | BPF_MOV | BPF_X), insn.dst_reg, insn.dst_reg,
                      int16_t(bytes * 8), 0};
      out[pc].assign(buf, buf + cnt);
    } else {
      out[pc].assign(1, insn);
    }
    // Which registers hold the context after this instruction.
    if (cls == BPF_ALU64 && BPF_OP(insn.code) == BPF_MOV && BPF_SRC(insn.code) == BPF_X &&
        insn.off == 0) {
      if (ctx_regs >> insn.src_reg & 1)
        ctx_regs |= 1u << insn.dst_reg;
      else
        ctx_regs &= ~(1u << insn.dst_reg);
    } else if (cls == BPF_JMP && BPF_OP(insn.code) == BPF_CALL) {
      ctx_regs &= ~0x3fu;
    } else if (cls == BPF_ALU || cls == BPF_ALU64 || cls == BPF_LDX || cls == BPF_LD) {
      ctx_regs &= ~(1u << insn.dst_reg);
    }
  }
  std::vector<uint32_t> start(prog.size() + 1, 0);
  for (size_t pc = 0; pc < prog.size(); pc++) start[pc + 1] = start[pc] + out[pc].size();
  std::vector<bpf_insn> result;
  for (size_t pc = 0; pc < prog.size(); pc++) {
    bpf_insn insn = out[pc][0];
    if (out[pc].size() == 1 && is_jump(prog[pc])) {
      const int64_t target =
          int64_t(pc) + 1 +
          (BPF_CLASS(insn.code) == BPF_JMP32 && BPF_OP(insn.code) == BPF_JA ? insn.imm : insn.off);
      insn.off = static_cast<int16_t>(int64_t(start[target]) - int64_t(start[pc]) - 1);
      result.push_back(insn);
    } else {
      result.insert(result.end(), out[pc].begin(), out[pc].end());
    }
  }
  return result;
}

Result<std::unique_ptr<vm::Executable>> build(uint32_t prog_type, const std::string& text,
                                              vm::EngineKind engine,
                                              uint32_t expected_attach_type) {
  const ProgTypeOps* ops = prog_type_ops(prog_type);
  if (!ops) return Status(EINVAL, "no such program type");
  ProgLoadContext load;
  load.prog_type = prog_type;
  load.expected_attach_type = expected_attach_type;
  auto xlated = rewrite_ctx(*ops, assemble(text), load);
  if (!xlated) return xlated.status();
  vm::HelperTable helpers = progs::helper_table(*ops, load);
  vm::ExecOptions opts;
  opts.checked = true;  // a wrong rewrite must be a fault, not a wild access
  auto exe = vm::compile(engine, *xlated, helpers, opts);
  if (!exe) return exe.status();
  return std::move(exe).value();
}

KernelRun kernel_test_run(int prog_fd, const TestRunArgs& args) {
  KernelRun run;
  std::vector<uint8_t> data_out(args.data_size_out ? args.data_size_out : 65536);
  std::vector<uint8_t> ctx_out(args.ctx_size_out);
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.test.prog_fd = static_cast<uint32_t>(prog_fd);
  attr.test.data_in = reinterpret_cast<uint64_t>(args.data_in.data());
  attr.test.data_size_in = static_cast<uint32_t>(args.data_in.size());
  attr.test.data_out = reinterpret_cast<uint64_t>(data_out.data());
  attr.test.data_size_out = args.data_size_out;
  if (!args.ctx_in.empty()) {
    attr.test.ctx_in = reinterpret_cast<uint64_t>(args.ctx_in.data());
    attr.test.ctx_size_in = static_cast<uint32_t>(args.ctx_in.size());
  }
  if (args.ctx_size_out) {
    attr.test.ctx_out = reinterpret_cast<uint64_t>(ctx_out.data());
    attr.test.ctx_size_out = args.ctx_size_out;
  }
  attr.test.repeat = args.repeat;
  attr.test.flags = args.flags;
  attr.test.cpu = args.cpu;
  attr.test.batch_size = args.batch_size;
  if (syscall(__NR_bpf, BPF_PROG_TEST_RUN, &attr, sizeof attr) < 0) run.err = errno;
  run.result.retval = attr.test.retval;
  run.result.duration = attr.test.duration;
  run.result.data_size_out = attr.test.data_size_out;
  const uint32_t copied = std::min<uint32_t>(attr.test.data_size_out, data_out.size());
  if (run.err == 0 || run.err == ENOSPC)
    run.result.data_out.assign(data_out.begin(), data_out.begin() + copied);
  if (args.ctx_size_out && (run.err == 0 || run.err == ENOSPC)) {
    run.result.ctx_size_out = attr.test.ctx_size_out;
    run.result.ctx_out.assign(
        ctx_out.begin(), ctx_out.begin() + std::min(attr.test.ctx_size_out, args.ctx_size_out));
  }
  return run;
}

int kernel_load(uint32_t prog_type, std::span<const bpf_insn> prog, std::string* log,
                uint32_t expected_attach_type) {
  static const char license[] = "GPL";
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = prog_type;
  attr.expected_attach_type = expected_attach_type;
  attr.insns = reinterpret_cast<uint64_t>(prog.data());
  attr.insn_cnt = static_cast<uint32_t>(prog.size());
  attr.license = reinterpret_cast<uint64_t>(license);
  std::string buf;
  if (log) {
    buf.assign(1 << 16, '\0');
    attr.log_buf = reinterpret_cast<uint64_t>(buf.data());
    attr.log_size = static_cast<uint32_t>(buf.size());
    attr.log_level = 1;
  }
  const long fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (fd < 0) {
    const int err = errno;
    if (log) *log = buf.c_str();
    return -err;
  }
  return static_cast<int>(fd);
}

}  // namespace bpfbox::testprogs
