// The op interface of the compiled plan. Each op kind lives in its own file in native/engine/ops/
// and registers its name with NT_REGISTER_OP; the engine builds one Op per node through the
// registry and iterates the plan (for each op: forward; in reverse: backward) without ever
// looking at op kinds. An op parses and validates its own attributes, declares its parameters
// (the engine lays them out in the arenas), allocates its own buffers through the Backend and
// calls only the Backend in forward and backward.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/buffer.h"
#include "engine/rng.h"
#include "nodetrain/backend.h"
#include "nodetrain/enums.h"
#include "nodetrain/status.h"

namespace nt {

// An attribute value: a number, a boolean or a string (as it arrived from JavaScript).
struct AttrValue {
  enum class Type { kNumber, kBool, kString } type = Type::kNumber;
  double number = 0;
  bool boolean = false;
  std::string string;
};
using Attrs = std::map<std::string, AttrValue>;

struct NodeSpec {
  std::string op;           // a registered op name ('dense', 'batchNorm', ...)
  std::string name;
  std::vector<int> inputs;  // indices of earlier nodes
  Attrs attrs;              // read only by the op itself
  int group = 0;            // parameter group
  bool trainable = true;
};

// Attribute readers with the project's message template. A missing attribute takes the default;
// one of the wrong type is kInvalidArgumentType, one out of range kInvalidArgumentValue.
class AttrReader {
 public:
  explicit AttrReader(const NodeSpec& s) : s_(s) {}
  Status number(const char* key, double def, double* out) const;
  Status integer(const char* key, int64_t def, int64_t min, int64_t* out) const;
  Status boolean(const char* key, bool def, bool* out) const;
  Status activation(const char* key, Act def, Act* out) const;
  // Rejects attributes the op does not know (a typo must not pass silently).
  Status only(std::initializer_list<const char*> known) const;
  std::string where(const char* key) const;  // "<node name>.attrs.<key>"

 private:
  const AttrValue* find(const char* key) const;
  const NodeSpec& s_;
};

// Loss fusion: an output op that can hand the loss its logits says how.
struct LossFusion {
  LossKind kind = LossKind::kMse;  // the loss on logits
  bool on_input = false;           // true: the op is skipped and the loss reads its input;
                                   // false: the op itself emits logits while training
};

// The read-only part of the plan, fixed at build time: shapes, wiring and the parameter arena.
// Everything a call writes lives in its Scratch, so inference calls run concurrently over one
// plan, each with its own Scratch (DESIGN.md rule 15).
struct Plan {
  int64_t max_batch = 0;
  std::vector<int64_t> width;               // output features of each node (active widths when slimmed)
  std::vector<int64_t> alloc_width;         // widths the buffers are sized for (never slimmed)
  std::vector<std::vector<int>> inputs;     // each node's inputs
  std::vector<bool> has_buffer;             // node has an output buffer of its own
  std::vector<int64_t> local;               // floats of per-call op state per node (for max_batch rows)
  std::vector<bool> needs_grad;             // node output gradient is needed
  std::vector<int> consumers;               // how many nodes read each node's output
  int64_t max_width = 1;
  bool bf16 = false;                        // matrix products take bf16 operands (Precision::kBf16)
  float* params = nullptr;                  // parameter arena (training)
  float* grads = nullptr;                   // gradient arena (trainable prefix)
};

// The working memory of one call: activations, per-op state (pre-activations, masks, statistics),
// scratch; plus gradients and the dropout generator for the training Scratch.
struct Scratch {
  std::vector<DeviceArray> acts, dacts, local;  // [max_batch, width] per node; dacts only for training
  std::vector<const float*> cur;                // forward output of each node for the current batch
  DeviceArray scratch;                          // [max_batch, max width]
  std::vector<double> dscratch;                 // host work for reductions (2 * max width)
  DeviceArray stats;                            // the loss and metric slots' outputs (doubles)
  std::vector<double> stats_host;               // their host copy
  Rng rng;
  // Allocates buffers for the plan's max_batch rows (with gradients when training).
  void build(const Backend& be, const Plan& plan, bool training);
  size_t bytes() const;
};

// What an op sees while running: the backend, the batch, its node's neighbourhood and the call's
// Scratch. `params` is the arena the call reads (the live one while training, a published
// serving snapshot for inference; ops write parameters only in commit(), only while training).
class RunContext {
 public:
  RunContext(const Backend& be, const Plan& plan, Scratch& s, float* params, int64_t rows, bool training,
             const float* x)
      : be(be), plan(plan), s(s), params(params), rows(rows), training(training), x(x) {}
  const Backend& be;
  const Plan& plan;
  Scratch& s;
  float* const params;
  const int64_t rows;
  const bool training;
  const float* const x;       // the model input (the input op's output)
  int node = -1;
  bool emit_logits = false;   // this op is the output and its activation is fused into the loss
  // >= 0: the momentum commit() uses for moving statistics instead of the op's own (recalibration).
  double state_momentum = -1;
  // The device update record (nodetrain/backend.h UpdateHealth) while a training step runs on a
  // backend with the device-resident update; null otherwise (host checks).
  UpdateHealth* health = nullptr;

  int64_t width() const { return plan.width[node]; }
  int64_t count() const { return rows * plan.width[node]; }
  // A matrix product at the model's precision (float32, or bf16 operands with fp32 accumulation).
  Status gemm(const GemmArgs& g) const { return plan.bf16 ? be.gemm_bf16(g) : be.gemm(g); }
  int input(size_t k) const { return plan.inputs[node][k]; }
  size_t num_inputs() const { return plan.inputs[node].size(); }
  int64_t in_width(size_t k) const { return plan.width[input(k)]; }
  const float* in(size_t k) const { return s.cur[input(k)]; }
  float* out() { return s.acts[node].data(); }
  // This node's per-call state (BuildContext::local_floats floats).
  float* local() { return s.local[node].data(); }
  // Publishes this node's output for the batch (out(), or an input passed through).
  void set_output(const float* p) { s.cur[node] = p; }
  const float* output() const { return s.cur[node]; }
  float* dout() { return s.dacts[node].data(); }
  bool in_needs_grad(size_t k) const { return plan.needs_grad[input(k)]; }
  bool in_single_consumer(size_t k) const { return plan.consumers[input(k)] == 1; }
  float* din(size_t k) { return s.dacts[input(k)].data(); }
  // Where to write input k's gradient: its buffer when this op is its only consumer, else the
  // scratch buffer (then accumulate_grad adds it in).
  float* grad_target(size_t k) { return in_single_consumer(k) ? din(k) : s.scratch.data(); }
  Status accumulate_grad(size_t k, const float* written, int64_t n) {
    if (written == s.scratch.data()) return be.axpy(1.0f, written, n, din(k));
    return Status::Ok();
  }
  // Writes src into input k's gradient (accumulating where the input has several consumers).
  Status give_grad(size_t k, const float* src, int64_t n);
  float* param(int64_t offset) const { return offset >= 0 ? params + offset : nullptr; }
  float* grad(int64_t offset) const { return offset >= 0 ? plan.grads + offset : nullptr; }
  double* work(size_t n) {
    if (s.dscratch.size() < n) s.dscratch.resize(n);
    return s.dscratch.data();
  }
  Rng& rng() { return s.rng; }
};

// What an op sees while building: its spec, its inputs' widths and the parameter declarations.
class BuildContext {
 public:
  BuildContext(const Backend& be, const NodeSpec& spec, int index, std::vector<int64_t> in_widths, int64_t max_batch)
      : be(be), spec(spec), index(index), in_widths(std::move(in_widths)), max_batch(max_batch) {}
  const Backend& be;
  const NodeSpec& spec;
  const int index;
  const std::vector<int64_t> in_widths;
  const int64_t max_batch;
  int64_t out_width = 0;     // set by the op
  bool is_input = false;     // the op is the model's input (exactly one per model)
  bool has_output_buffer = true;  // false: the op's output is never a buffer of its own
  int64_t local_floats = 0;       // per-call state the op needs for max_batch rows (RunContext::local)

  // Declares a parameter "<node name>/<role>" of `shape`; *offset receives its arena offset once
  // the engine has laid out every node (-1 until then). state: non-trainable statistics (moving
  // mean/variance), never updated by the optimizer. init: the neutral value before the caller
  // writes initial values.
  void param(const char* role, std::vector<int64_t> shape, bool state, float init, int64_t* offset);
  Status expect_inputs(size_t n) const;
  Status expect_min_inputs(size_t n) const;

  struct ParamDecl {
    std::string role;
    std::vector<int64_t> shape;
    bool state;
    float init;
    int64_t* offset;
  };
  std::vector<ParamDecl> decls;
};

class Op {
 public:
  virtual ~Op() = default;
  // Validates attributes and inputs, sets the output width, declares parameters, allocates buffers.
  virtual Status build(BuildContext& ctx) = 0;
  // Computes the node's output for ctx.rows rows and publishes it with ctx.set_output().
  virtual Status forward(RunContext& ctx) = 0;
  // Given dout(), writes the parameters' gradients and (where in_needs_grad) the inputs'.
  virtual Status backward(RunContext& ctx) = 0;
  // Loss fusion: whether this op, as the model's output, folds into `loss` (see LossFusion).
  virtual bool fuse_loss(LossKind loss, LossFusion* fusion) const { return false; }
  // After forward in training: kNonFinite when statistics the op will commit are not finite.
  virtual Status check_finite(RunContext& ctx) { return Status::Ok(); }
  // After an applied (not rejected) optimizer step: commit state such as moving statistics.
  virtual Status commit(RunContext& ctx) { return Status::Ok(); }
  // Slimmable execution (Model::set_active_widths): the op can run on the first k of its output
  // units, reading a prefix of its parameters with the full layout's leading dimensions.
  virtual bool slimmable() const { return false; }
};

using OpFactory = std::unique_ptr<Op> (*)();
bool register_op(const char* name, OpFactory factory);
std::unique_ptr<Op> create_op(const std::string& name);
std::vector<std::string> registered_ops();

#define NT_OP_CONCAT2(a, b) a##b
#define NT_OP_CONCAT(a, b) NT_OP_CONCAT2(a, b)
// NT_REGISTER_OP("dense", DenseOp) at namespace scope in the op's file.
#define NT_REGISTER_OP(name, Type)                                                       \
  static const bool NT_OP_CONCAT(nt_op_registered_, __LINE__) = ::nt::register_op( \
      name, []() -> std::unique_ptr<::nt::Op> { return std::unique_ptr<::nt::Op>(new Type()); })

}  // namespace nt
