// `bpfbox verify FILE`: the verifier's verdict on a program, with its log and, for a refusal, the
// structured explanation (rule, pc, registers, path, hint); --json prints it all as one object.
#include <cstdio>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "bpfbox/maps.hpp"
#include "bpfbox/verifier.hpp"
#include "command_error.hpp"
#include "commands.hpp"
#include "program_file.hpp"

namespace bpfbox::cli {

namespace {

uint32_t prog_type_by_name(const std::string& name) {
  if (name == "socket_filter") return BPF_PROG_TYPE_SOCKET_FILTER;
  if (name == "sched_cls") return BPF_PROG_TYPE_SCHED_CLS;
  if (name == "sched_act") return BPF_PROG_TYPE_SCHED_ACT;
  if (name == "xdp") return BPF_PROG_TYPE_XDP;
  throw CommandError("unknown program type '" + name + "'", 2);
}

const char* errno_name(int err) {
  switch (err) {
    case 0:
      return "";
    case EINVAL:
      return "EINVAL";
    case EACCES:
      return "EACCES";
    case E2BIG:
      return "E2BIG";
    case EPERM:
      return "EPERM";
    case EBADF:
      return "EBADF";
    case ENOSPC:
      return "ENOSPC";
    case EFAULT:
      return "EFAULT";
    case EPROTO:
      return "EPROTO";
    case maps::kENOTSUPP:
      return "ENOTSUPP";
    default:
      return "E?";
  }
}

// "--map array:4:64:1" (type:key_size:value_size:max_entries): the N-th is map[fd:N].
std::shared_ptr<maps::Map> make_map(const std::string& spec) {
  const size_t c1 = spec.find(':');
  if (c1 == std::string::npos) throw CommandError("--map wants TYPE:KEY:VALUE:ENTRIES", 2);
  const std::string type = spec.substr(0, c1);
  unsigned key = 0, value = 0, entries = 0;
  if (std::sscanf(spec.c_str() + c1 + 1, "%u:%u:%u", &key, &value, &entries) != 3)
    throw CommandError("--map wants TYPE:KEY:VALUE:ENTRIES, got '" + spec + "'", 2);
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.map_type = type == "array"          ? BPF_MAP_TYPE_ARRAY
                  : type == "hash"         ? BPF_MAP_TYPE_HASH
                  : type == "percpu_array" ? BPF_MAP_TYPE_PERCPU_ARRAY
                  : type == "ringbuf"      ? BPF_MAP_TYPE_RINGBUF
                  : type == "prog_array"   ? BPF_MAP_TYPE_PROG_ARRAY
                                           : 0;
  if (!attr.map_type) throw CommandError("unknown map type '" + type + "'", 2);
  attr.key_size = key;
  attr.value_size = value;
  attr.max_entries = entries;
  auto m = maps::Map::create(attr);
  if (!m) throw CommandError("--map " + spec + ": " + m.status().message());
  return m.value();
}

}  // namespace

void run_verify(const VerifyOptions& o) {
  const std::vector<isa::Insn> prog = load_program(o.path);
  std::vector<std::shared_ptr<maps::Map>> maps_list;
  for (const std::string& spec : o.maps) maps_list.push_back(make_map(spec));
  verifier::Options opts;
  opts.load.prog_type = prog_type_by_name(o.type);
  opts.load.privileged = !o.unprivileged;
  opts.log_level = o.log_level;
  opts.log_size = o.log_level ? 16u << 20 : 0;
  opts.map_by_fd = [&](int fd) -> Result<std::shared_ptr<maps::Map>> {
    if (fd >= 0 && static_cast<size_t>(fd) < maps_list.size()) return maps_list[fd];
    return Status(EBADF, "not a map");
  };
  const verifier::VerifyResult r = verifier::verify(prog, opts);
  const bool accepted = r.status.is_ok();

  if (o.json) {
    nlohmann::json j;
    j["verdict"] = accepted ? "accept" : "reject";
    j["errno"] = r.status.err();
    j["errno_name"] = errno_name(r.status.err());
    j["message"] = r.status.message();
    j["log"] = r.log;
    j["log_true_size"] = r.log_true_size;
    j["insn_count"] = prog.size();
    if (r.program) j["verified_insns"] = r.program->verified_insns;
    if (r.diagnostic) {
      const verifier::Diagnostic& d = *r.diagnostic;
      j["diagnostic"] = {
          {"pc", d.pc},     {"rule", d.rule}, {"message", d.message}, {"registers", d.registers},
          {"path", d.path}, {"hint", d.hint}, {"source", d.source},   {"file", d.file},
          {"line", d.line}};
    }
    const std::string text = j.dump(2) + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    std::fwrite(r.log.data(), 1, r.log.size(), stdout);
    if (accepted) {
      std::printf("verdict: accept (%u instructions processed)\n", r.program->verified_insns);
    } else {
      std::printf("verdict: reject %s: %s\n", errno_name(r.status.err()),
                  r.status.message().c_str());
      if (r.diagnostic) {
        const verifier::Diagnostic& d = *r.diagnostic;
        std::printf("  rule: %s at pc %u\n", d.rule.c_str(), d.pc);
        for (const std::string& reg : d.registers) std::printf("  register: %s\n", reg.c_str());
        if (!d.path.empty()) {
          std::string path;
          for (uint32_t pc : d.path) path += (path.empty() ? "" : " -> ") + std::to_string(pc);
          std::printf("  path: %s\n", path.c_str());
        }
        if (!d.hint.empty()) std::printf("  hint: %s\n", d.hint.c_str());
        if (!d.source.empty())
          std::printf("  source: %s @ %s:%u\n", d.source.c_str(), d.file.c_str(), d.line);
      }
    }
  }
  std::fflush(stdout);
  if (!accepted) throw CommandError(o.path + ": rejected: " + r.status.message());
}

}  // namespace bpfbox::cli
