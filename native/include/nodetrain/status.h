// Status: the only way kernels and the engine report failure. Native code never aborts; the
// binding layer turns a non-ok Status into a JavaScript Error whose `code` is status_code_name().
#pragma once
#include <string>
#include <utility>

namespace nt {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,   // a shape, stride or hyperparameter the kernel cannot accept
  kOutOfMemory,       // an allocation failed
  kNotSupported,      // valid request that this build/device cannot serve
  kCancelled,         // work stopped on request (AbortSignal, callback)
  kNonFinite,         // a NaN/Inf appeared where it must not (loss, gradients, data)
  kIo,                // file system failure
  kCorruptFile,       // a file failed validation on load
  kInternal,          // a bug: an invariant did not hold
};

inline const char* status_code_name(StatusCode c) {
  switch (c) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "ERR_NT_INVALID_ARGUMENT";
    case StatusCode::kOutOfMemory: return "ERR_NT_OUT_OF_MEMORY";
    case StatusCode::kNotSupported: return "ERR_NT_NOT_SUPPORTED";
    case StatusCode::kCancelled: return "ERR_NT_CANCELLED";
    case StatusCode::kNonFinite: return "ERR_NT_NON_FINITE";
    case StatusCode::kIo: return "ERR_NT_IO";
    case StatusCode::kCorruptFile: return "ERR_NT_CORRUPT_FILE";
    case StatusCode::kInternal: return "ERR_NT_INTERNAL";
  }
  return "ERR_NT_INTERNAL";
}

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

inline Status InvalidArgument(std::string m) { return Status(StatusCode::kInvalidArgument, std::move(m)); }
inline Status Internal(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }

#define NT_RETURN_IF_ERROR(expr)            \
  do {                                      \
    ::nt::Status _nt_st = (expr);           \
    if (!_nt_st.ok()) return _nt_st;        \
  } while (0)

}  // namespace nt
