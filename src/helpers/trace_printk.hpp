// bpf_trace_printk (#6): the kernel's debug print, its format rules and where its output goes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "bpfbox/vm.hpp"

namespace bpfbox::helpers {

// Receives each message as formatted (the kernel's trace_pipe line without its prefix). The
// default writes the message to stderr, adding a newline when it has none.
using TracePrintkSink = std::function<void(std::string_view message)>;

// Sets where messages go for every run in the process; an empty function restores stderr.
void set_trace_printk_sink(TracePrintkSink sink);

// Formats as the kernel's bpf_bprintf_prepare + bstr_printf: fmt is a NUL-terminated string within
// fmt_size bytes using at most 3 of %d %i %u %x %X (with l/ll), %c, %s, %p (%pK %px %ps %pS %pB),
// %pks %pus, %pI4 %pi4 %pI6 %pi6, with optional [0 +-] flags and a width. Returns the length of
// the formatted text (out holds at most 1023 bytes of it), -EINVAL for a format the kernel
// refuses, -EFAULT when fmt is not readable memory in checked mode (a run with regions or a stack
// in `rc`). Strings and addresses that cannot be read print as the kernel's: empty, zeros.
int64_t format_trace_printk(uint64_t fmt, uint64_t fmt_size, const uint64_t args[3],
                            const vm::RunContext* rc, std::string& out);

}  // namespace bpfbox::helpers
