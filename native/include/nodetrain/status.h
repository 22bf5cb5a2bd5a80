// Status: the only way kernels and the engine report failure. Native code never aborts; the
// binding layer turns a non-ok Status into a JavaScript Error whose `code` is status_code_name()
// (the codes and their names are in nodetrain/enums.h).
#pragma once
#include <string>
#include <utility>

#include "nodetrain/enums.h"

namespace nt {

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value outside what is accepted (the common case in native code: JavaScript types are checked
// by the binding, which uses InvalidType).
inline Status InvalidArgument(std::string m) { return Status(StatusCode::kInvalidArgumentValue, std::move(m)); }
inline Status InvalidType(std::string m) { return Status(StatusCode::kInvalidArgumentType, std::move(m)); }
inline Status Internal(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

#define NT_RETURN_IF_ERROR(expr)            \
  do {                                      \
    ::nt::Status _nt_st = (expr);           \
    if (!_nt_st.ok()) return _nt_st;        \
  } while (0)

}  // namespace nt
