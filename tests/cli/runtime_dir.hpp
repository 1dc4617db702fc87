// A private bpfbox runtime dir for a test binary and the programs it starts: from SetUp to
// TearDown BPFBOX_RUNTIME_DIR names a fresh directory, removed afterwards, so one test's objects,
// ids and pins stay out of the others'. A gtest environment (one dir for the whole binary), or a
// fixture's member whose SetUp/TearDown the fixture calls (one dir per test).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <utility>

namespace bpfbox::testing {

class RuntimeDirEnv : public ::testing::Environment {
 public:
  explicit RuntimeDirEnv(std::string prefix) : prefix_(std::move(prefix)) {}
  void SetUp() override {
    std::string tmpl = "/tmp/" + prefix_ + "-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    setenv("BPFBOX_RUNTIME_DIR", dir_.c_str(), 1);
  }
  void TearDown() override {
    unsetenv("BPFBOX_RUNTIME_DIR");
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string prefix_;
  std::string dir_;
};

}  // namespace bpfbox::testing
