// The enums that cross into JavaScript, with their name tables. lib/native/enums.ts holds the same
// tables in the same order; test/native/enums.test.ts checks them equal through the addon's
// enums() export. Names travel as strings and the binding maps each one to its enum once, while
// parsing a spec (enum_from_name); every bound below comes from a table's size, never a literal.
#pragma once
#include <cstddef>
#include <cstring>

namespace nt {

// Activations (shared by the GEMM epilogue, the elementwise kernels and the ops).
enum class Act : int {
  kNone = 0,       // 'linear'
  kRelu = 1,
  kLeakyRelu = 2,  // alpha = negative slope
  kElu = 3,        // alpha
  kGelu = 4,       // tanh approximation (as tfjs / PyTorch approximate='tanh')
  kSigmoid = 5,
  kTanh = 6,
  kSoftplus = 7,
};
inline constexpr const char* kActNames[] = {"linear", "relu", "leakyRelu", "elu", "gelu", "sigmoid", "tanh", "softplus"};

enum class LossKind : int {
  kMse = 0,
  kMae = 1,
  kHuber = 2,
  kBce = 3,             // binary cross-entropy from probabilities
  kBceLogits = 4,       // from logits
  kCce = 5,             // categorical cross-entropy from probabilities (one-hot / soft targets)
  kSparseCce = 6,       // from probabilities with int32 labels
  kCceLogits = 7,       // from logits
  kSparseCceLogits = 8,
};
inline constexpr const char* kLossNames[] = {"meanSquaredError",
                                             "meanAbsoluteError",
                                             "huber",
                                             "binaryCrossentropy",
                                             "binaryCrossentropyFromLogits",
                                             "categoricalCrossentropy",
                                             "sparseCategoricalCrossentropy",
                                             "categoricalCrossentropyFromLogits",
                                             "sparseCategoricalCrossentropyFromLogits"};

enum class MetricKind : int {
  kBinaryAccuracy = 0,
  kCategoricalAccuracy = 1,
  kSparseCategoricalAccuracy = 2,
  kMse = 3,
  kMae = 4,
  kRmse = 5,
  kR2 = 6,         // coefficient of determination, averaged over output columns
  kPrecision = 7,  // positive class for one output column; macro average over classes otherwise
  kRecall = 8,
  kF1 = 9,
};
inline constexpr const char* kMetricNames[] = {"binaryAccuracy", "categoricalAccuracy", "sparseCategoricalAccuracy",
                                               "meanSquaredError", "meanAbsoluteError", "rootMeanSquaredError",
                                               "r2", "precision", "recall", "f1"};

enum class OptKind : int { kSgd = 0, kAdam = 1, kAdamW = 2, kRmsprop = 3, kAdagrad = 4 };
inline constexpr const char* kOptimizerNames[] = {"sgd", "adam", "adamw", "rmsprop", "adagrad"};

// Arithmetic of a model's matrix products: float32, or bf16 operands with fp32 accumulation
// (master weights, gradients, optimizer state and the loss stay float32).
enum class Precision : int { kFloat32 = 0, kBf16 = 1 };
inline constexpr const char* kPrecisionNames[] = {"float32", "bf16"};

// Where a compiled model's buffers live and its kernels run (compile({ device })).
enum class Device : int { kCpu = 0, kCuda = 1 };
inline constexpr const char* kDeviceNames[] = {"cpu", "cuda"};

// Failure codes. kOk is not an error and has no JavaScript name; the others map, in order, to
// kStatusCodeNames (error.code in JavaScript).
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgumentType,   // a JavaScript value of the wrong type
  kInvalidArgumentValue,  // a shape, stride, name or hyperparameter outside what is accepted
  kOutOfMemory,           // an allocation failed
  kNotSupported,          // valid request that this build/device cannot serve
  kCancelled,             // work stopped on request (AbortSignal, callback)
  kNonFinite,             // a NaN/Inf appeared where it must not (loss, gradients, data)
  kIo,                    // file system failure
  kCorruptFile,           // a file failed validation on load
  kBusy,                  // the object is in use by running work
  kDisposed,              // the object was disposed
  kInvalidState,          // the call does not fit the object's state (not built, not paused)
  kNoDevice,              // a device was asked for that this build or this machine does not have
  kInternal,              // a bug: an invariant did not hold
};
inline constexpr const char* kStatusCodeNames[] = {
    "ERR_NT_INVALID_ARGUMENT_TYPE", "ERR_NT_INVALID_ARGUMENT_VALUE", "ERR_NT_OUT_OF_MEMORY", "ERR_NT_NOT_SUPPORTED",
    "ERR_NT_CANCELLED", "ERR_NT_NON_FINITE", "ERR_NT_IO", "ERR_NT_CORRUPT_FILE", "ERR_NT_BUSY", "ERR_NT_DISPOSED",
    "ERR_NT_INVALID_STATE", "ERR_NT_NO_DEVICE", "ERR_NT_INTERNAL"};

template <class T, size_t N>
constexpr size_t table_size(T (&)[N]) {
  return N;
}
inline constexpr size_t kNumActs = table_size(kActNames);
inline constexpr size_t kNumLosses = table_size(kLossNames);
inline constexpr size_t kNumMetrics = table_size(kMetricNames);
inline constexpr size_t kNumOptimizers = table_size(kOptimizerNames);
inline constexpr size_t kNumPrecisions = table_size(kPrecisionNames);
inline constexpr size_t kNumStatusCodes = table_size(kStatusCodeNames);
static_assert(static_cast<size_t>(StatusCode::kInternal) == kNumStatusCodes, "status names follow the enum");
static_assert(static_cast<size_t>(Act::kSoftplus) + 1 == kNumActs, "activation names follow the enum");
static_assert(static_cast<size_t>(LossKind::kSparseCceLogits) + 1 == kNumLosses, "loss names follow the enum");
static_assert(static_cast<size_t>(MetricKind::kF1) + 1 == kNumMetrics, "metric names follow the enum");
static_assert(static_cast<size_t>(OptKind::kAdagrad) + 1 == kNumOptimizers, "optimizer names follow the enum");
static_assert(static_cast<size_t>(Precision::kBf16) + 1 == kNumPrecisions, "precision names follow the enum");

// Index of `name` in a table, or -1.
template <size_t N>
int enum_index(const char* const (&table)[N], const char* name) {
  for (size_t i = 0; i < N; ++i)
    if (std::strcmp(table[i], name) == 0) return static_cast<int>(i);
  return -1;
}

// Maps a name to its enum; false when the name is not in the table.
template <class E, size_t N>
bool enum_from_name(const char* const (&table)[N], const char* name, E* out) {
  const int i = enum_index(table, name);
  if (i < 0) return false;
  *out = static_cast<E>(i);
  return true;
}

inline const char* act_name(Act a) {
  const size_t i = static_cast<size_t>(a);
  return i < kNumActs ? kActNames[i] : "unknown";
}

inline const char* status_code_name(StatusCode c) {
  if (c == StatusCode::kOk) return "OK";
  const size_t i = static_cast<size_t>(c) - 1;
  return i < kNumStatusCodes ? kStatusCodeNames[i] : "ERR_NT_INTERNAL";
}

}  // namespace nt
