// An ObjectTable for the maps tests: "fds" are keys of this table (not real fds), each naming a
// program, a map or a perf event ring with an id; it counts the references maps hold.
#pragma once

#include <gtest/gtest.h>

#include <cerrno>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "bpfbox/maps.hpp"

namespace bpfbox::maps::testing {

class TestObjectTable : public ObjectTable {
 public:
  static constexpr int kNotBpf = 1 << 20;  // an open fd that is no bpf object (a plain file)

  int add_prog(uint32_t prog_type, const vm::Executable* exec) {
    ObjectRef r{ObjectKind::Prog, next_id_++, prog_type, exec, nullptr, nullptr};
    return add(r, nullptr);
  }
  int add_map(std::shared_ptr<Map> m) {
    ObjectRef r{ObjectKind::Map, next_id_++, 0, nullptr, m.get(), nullptr};
    return add(r, std::move(m));
  }
  int add_perf(PerfEventRing* ring) {
    ObjectRef r{ObjectKind::PerfEvent, next_id_++, 0, nullptr, nullptr, ring};
    return add(r, nullptr);
  }
  // Called (under the table's lock) when the last reference a map held on an object is dropped.
  std::function<void(const ObjectRef&)> on_released;

  uint32_t id(int fd) const { return entries_.at(fd).ref.id; }
  // References maps hold on the object behind fd.
  int refs(int fd) const {
    std::lock_guard g(mu_);
    return entries_.at(fd).refs;
  }
  int total_refs() const {
    std::lock_guard g(mu_);
    int n = 0;
    for (const auto& [fd, e] : entries_) n += e.refs;
    return n;
  }

  Result<ObjectRef> ref_prog_fd(int fd) override { return ref(fd, ObjectKind::Prog, EINVAL); }
  Result<ObjectRef> ref_map_fd(int fd) override { return ref(fd, ObjectKind::Map, EINVAL); }
  Result<ObjectRef> ref_perf_event_fd(int fd) override {
    return ref(fd, ObjectKind::PerfEvent, EBADF);
  }
  // Ids resolve as the bpf() layer's id table would: to the object, with a reference.
  Result<ObjectRef> ref_id(ObjectKind kind, uint32_t id) override {
    std::lock_guard g(mu_);
    for (auto& [fd, e] : entries_) {
      if (e.ref.id == id && e.ref.kind == kind) {
        ++e.refs;
        return e.ref;
      }
    }
    return Status(ENOENT, "no object with id " + std::to_string(id));
  }
  void unref(const ObjectRef& r) override {
    std::lock_guard g(mu_);
    for (auto& [fd, e] : entries_) {
      if (e.ref.id == r.id) {
        if (--e.refs < 0) ADD_FAILURE() << "unref below zero for id " << r.id;
        if (e.refs == 0 && on_released) on_released(r);
        return;
      }
    }
    ADD_FAILURE() << "unref of unknown id " << r.id;
  }

 private:
  struct Entry {
    ObjectRef ref;
    std::shared_ptr<Map> map;
    int refs = 0;
  };
  int add(const ObjectRef& r, std::shared_ptr<Map> m) {
    std::lock_guard g(mu_);
    int fd = next_fd_++;
    entries_[fd] = Entry{r, std::move(m), 0};
    return fd;
  }
  Result<ObjectRef> ref(int fd, ObjectKind kind, int wrong_kind_errno) {
    std::lock_guard g(mu_);
    if (fd == kNotBpf) return Status(wrong_kind_errno, "fd is not a bpf object");
    auto it = entries_.find(fd);
    if (it == entries_.end()) return Status(EBADF, "fd " + std::to_string(fd) + " is not open");
    if (it->second.ref.kind != kind)
      return Status(wrong_kind_errno, "fd is another kind of object");
    ++it->second.refs;
    return it->second.ref;
  }

  mutable std::mutex mu_;
  std::map<int, Entry> entries_;
  int next_fd_ = 3;
  uint32_t next_id_ = 100;
};

}  // namespace bpfbox::maps::testing
