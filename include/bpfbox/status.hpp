// Errors as the kernel reports them: an errno value and a message for the log.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace bpfbox {

class Status {
 public:
  Status() = default;
  Status(int err, std::string msg) : err_(err), msg_(std::move(msg)) {}
  static Status ok() { return {}; }

  bool is_ok() const { return err_ == 0; }
  explicit operator bool() const { return is_ok(); }
  int err() const { return err_; }  // a positive errno (EINVAL, EACCES, ...) or 0
  const std::string& message() const { return msg_; }

 private:
  int err_ = 0;
  std::string msg_;
};

// A value or the Status that says why there is none (C++20 has no std::expected).
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status st) : v_(std::move(st)) {}

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Status& status() const {
    static const Status ok_status;
    return is_ok() ? ok_status : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace bpfbox
