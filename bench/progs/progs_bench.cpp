// The benchmark programs on every engine, in one run: each program is first run once on each
// engine and its result (return value and output packet) checked against the native twin's, then
// timed. Prints a table and, with --json FILE, writes what table.py turns into RESULTS.md.
//
//   progs_bench [--filter SUBSTRING] [--engines LIST] [--batches N] [--json FILE] [--no-compile]
//
// --engines interp,jit,llvm,kernel (comma-separated) times only those (native always runs: it is
// the reference every engine is checked against); for profiling one engine with perf.
//
// Columns: `interp`, `jit`, `llvm` and `kernel` are BPF_PROG_TEST_RUN's duration (ns per run, the
// engine's own average over `repeat` runs; the fastest of N calls of ~2 ms); `*_call` is bpfbox's
// engine called in a loop without the syscall (ns per run, fastest of N batches of ~2 ms), and
// `native` the twin called the same way. Exit status 1 when an engine disagrees with native.
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "harness.hpp"
#include "programs.hpp"

namespace bpfbox::progbench {
namespace {

struct Row {
  std::string name, what;
  uint32_t insns = 0, kernel_insns = 0;
  std::map<std::string, double> ns;  // "jit" (TEST_RUN), "jit_call", "native", ...
  std::map<std::string, double> compile_us;
  std::vector<std::string> errors;
};

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    o += c;
  }
  return o + "\"";
}

std::string json_num_map(const std::map<std::string, double>& m) {
  std::string o = "{";
  for (const auto& [k, v] : m) {
    if (o.size() > 1) o += ", ";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    o += json_str(k) + ": " + buf;
  }
  return o + "}";
}

std::string shell(const char* cmd) {
  std::string out;
  if (FILE* f = popen(cmd, "r")) {
    char buf[256];
    while (fgets(buf, sizeof buf, f)) out += buf;
    pclose(f);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

Row measure(const ProgSpec& spec, const std::string& engines, int batches, bool compile) {
  Row row{spec.unit, spec.what};
  const std::vector<uint8_t> pkt = spec.packet();
  auto native = Loaded::load(spec, Engine::Native);
  if (!native) {
    row.errors.push_back("native: " + native.status().message());
    return row;
  }
  auto want = (*native)->run_once(pkt);
  if (!want) {
    row.errors.push_back("native: " + want.status().message());
    return row;
  }
  for (Engine e : {Engine::Interp, Engine::Jit, Engine::Llvm, Engine::Kernel}) {
    const std::string name = engine_name(e);
    if (!engines.empty() && ("," + engines + ",").find("," + name + ",") == std::string::npos)
      continue;
    auto l = Loaded::load(spec, e);
    if (!l) {
      std::fprintf(stderr, "  %s: skipped: %s\n", name.c_str(), l.status().message().c_str());
      if (e != Engine::Kernel) row.errors.push_back(name + ": " + l.status().message());
      continue;
    }
    auto got = (*l)->run_once(pkt);
    if (!got) {
      row.errors.push_back(name + ": " + got.status().message());
      continue;
    }
    if (!(*got == *want)) {
      row.errors.push_back(name + " disagrees with native: " + describe_difference(*want, *got));
      continue;
    }
    if (e == Engine::Kernel) row.kernel_insns = (*l)->xlated_insns();
    if (e == Engine::Jit) row.insns = (*l)->xlated_insns();
    if (auto ns = (*l)->test_run_ns(pkt, batches))
      row.ns[name] = *ns;
    else
      row.errors.push_back(name + ": " + ns.status().message());
    if (e != Engine::Kernel) {
      if (auto ns = (*l)->call_ns(pkt, batches)) row.ns[name + "_call"] = *ns;
    }
    if (compile && (e == Engine::Jit || e == Engine::Llvm)) {
      if (auto us = (*l)->compile_us(e, e == Engine::Llvm ? 3 : 20)) row.compile_us[name] = *us;
    }
  }
  if (auto ns = (*native)->call_ns(pkt, batches)) row.ns["native"] = *ns;
  return row;
}

std::string cell(const Row& r, const char* key) {
  auto it = r.ns.find(key);
  if (it == r.ns.end()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, it->second < 100 ? "%.1f" : "%.0f", it->second);
  return buf;
}

std::string ratio(const Row& r, const char* a, const char* b) {
  auto x = r.ns.find(a), y = r.ns.find(b);
  if (x == r.ns.end() || y == r.ns.end() || y->second <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", x->second / y->second);
  return buf;
}

int run(int argc, char** argv) {
  std::string filter, json, engines;
  int batches = 25;
  bool compile = true;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--filter" && i + 1 < argc)
      filter = argv[++i];
    else if (a == "--engines" && i + 1 < argc)
      engines = argv[++i];
    else if (a == "--batches" && i + 1 < argc)
      batches = std::max(1, std::atoi(argv[++i]));
    else if (a == "--json" && i + 1 < argc)
      json = argv[++i];
    else if (a == "--no-compile")
      compile = false;
    else {
      std::fprintf(
          stderr,
          "usage: progs_bench [--filter SUBSTRING] [--engines LIST] [--batches N] [--json FILE] "
          "[--no-compile]\n");
      return 2;
    }
  }
  // bpfbox's ids and pins in a private runtime dir.
  char tmpl[] = "/tmp/bpfbox-progs-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  setenv("BPFBOX_RUNTIME_DIR", tmpl, 1);
  const std::string load_before = shell("uptime");
  if (!kernel_unavailable().empty())
    std::fprintf(stderr, "kernel: skipped: %s\n", kernel_unavailable().c_str());

  std::vector<Row> rows;
  for (const ProgSpec& spec : programs()) {
    if (!filter.empty() && std::string(spec.unit).find(filter) == std::string::npos) continue;
    std::fprintf(stderr, "%s\n", spec.unit);
    rows.push_back(measure(spec, engines, batches, compile));
  }
  const std::string load_after = shell("uptime");
  std::filesystem::remove_all(tmpl);

  std::printf("%-18s %6s %6s %9s %8s %8s %8s %8s %8s %8s %8s %7s %7s\n", "program", "insns",
              "k.insns", "interp", "jit", "llvm", "kernel", "native", "jit_call", "llvm_call",
              "int_call", "jit/ker", "llvm/nat");
  bool failed = false;
  for (const Row& r : rows) {
    std::printf("%-18s %6u %6u %9s %8s %8s %8s %8s %8s %8s %8s %7s %7s\n", r.name.c_str(), r.insns,
                r.kernel_insns, cell(r, "interp").c_str(), cell(r, "jit").c_str(),
                cell(r, "llvm").c_str(), cell(r, "kernel").c_str(), cell(r, "native").c_str(),
                cell(r, "jit_call").c_str(), cell(r, "llvm_call").c_str(),
                cell(r, "interp_call").c_str(), ratio(r, "jit", "kernel").c_str(),
                ratio(r, "llvm_call", "native").c_str());
    for (const std::string& e : r.errors) {
      std::printf("  ERROR %s: %s\n", r.name.c_str(), e.c_str());
      failed = true;
    }
  }
  std::printf("load: %s\n", load_after.c_str());

  if (!json.empty()) {
    FILE* f = std::fopen(json.c_str(), "w");
    if (!f) {
      std::perror(json.c_str());
      return 1;
    }
    std::fprintf(f, "{\"uptime_before\": %s, \"uptime_after\": %s, \"batches\": %d,\n",
                 json_str(load_before).c_str(), json_str(load_after).c_str(), batches);
    std::fprintf(
        f, " \"kernel\": %s, \"programs\": [\n",
        json_str(kernel_unavailable().empty() ? shell("uname -r") : kernel_unavailable()).c_str());
    for (size_t i = 0; i < rows.size(); i++) {
      const Row& r = rows[i];
      std::string errs = "[";
      for (const auto& e : r.errors) errs += (errs.size() > 1 ? ", " : "") + json_str(e);
      errs += "]";
      std::fprintf(f,
                   "  {\"name\": %s, \"what\": %s, \"insns\": %u, \"kernel_insns\": %u, "
                   "\"ns\": %s, \"compile_us\": %s, \"errors\": %s}%s\n",
                   json_str(r.name).c_str(), json_str(r.what).c_str(), r.insns, r.kernel_insns,
                   json_num_map(r.ns).c_str(), json_num_map(r.compile_us).c_str(), errs.c_str(),
                   i + 1 < rows.size() ? "," : "");
    }
    std::fprintf(f, "]}\n");
    std::fclose(f);
  }
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace bpfbox::progbench

int main(int argc, char** argv) {
  return bpfbox::progbench::run(argc, argv);
}
