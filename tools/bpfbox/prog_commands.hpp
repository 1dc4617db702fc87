// The pieces of `bpfbox prog`, one file each: prog_command.cpp (load, loadall, run and the
// dispatch), prog_show.cpp (show, list, dump, pin), pcap_run.cpp (run over a capture).
#pragma once

#include <string>

#include "bpftool_common.hpp"

namespace bpfbox::cli {

// show | list | dump | pin: false when `cmd` is none of them.
bool run_prog_show_command(const std::string& cmd, Args& a);

// Runs the program behind prog_fd over every packet of the pcap file `in` (BPF_PROG_TEST_RUN per
// packet), prints the count of each verdict and writes the packets that pass, as the program
// left them, to `out` (empty: none written).
void run_pcap(int prog_fd, const std::string& in, const std::string& out);

}  // namespace bpfbox::cli
