// The op registry, attribute readers and the shared helpers of the op contexts.
#include "engine/op.h"

#include <cmath>
#include <cstring>
#include <utility>

namespace nt {
namespace {

std::vector<std::pair<std::string, OpFactory>>& registry() {
  static std::vector<std::pair<std::string, OpFactory>> r;
  return r;
}

std::string describe(const AttrValue& v) {
  switch (v.type) {
    case AttrValue::Type::kString: return "\"" + v.string + "\"";  // as lib/validate.ts describe()
    case AttrValue::Type::kBool: return v.boolean ? "true" : "false";
    case AttrValue::Type::kNumber: {
      if (std::isfinite(v.number) && v.number == std::floor(v.number) && std::fabs(v.number) < 9e15)
        return std::to_string(static_cast<int64_t>(v.number));
      std::string s = std::to_string(v.number);
      return s;
    }
  }
  return "a value";
}

}  // namespace

bool register_op(const char* name, OpFactory factory) {
  for (auto& e : registry())
    if (e.first == name) {
      e.second = factory;
      return true;
    }
  registry().emplace_back(name, factory);
  return true;
}

std::unique_ptr<Op> create_op(const std::string& name) {
  for (const auto& e : registry())
    if (e.first == name) return e.second();
  return nullptr;
}

std::vector<std::string> registered_ops() {
  std::vector<std::string> names;
  for (const auto& e : registry()) names.push_back(e.first);
  return names;
}

// ---- attributes ---------------------------------------------------------------------------------
std::string AttrReader::where(const char* key) const { return s_.name + ".attrs." + key; }

const AttrValue* AttrReader::find(const char* key) const {
  auto it = s_.attrs.find(key);
  return it == s_.attrs.end() ? nullptr : &it->second;
}

Status AttrReader::number(const char* key, double def, double* out) const {
  const AttrValue* v = find(key);
  if (!v) {
    *out = def;
    return Status::Ok();
  }
  if (v->type != AttrValue::Type::kNumber)
    return InvalidType("Expected a number for " + where(key) + " but received " + describe(*v));
  if (!std::isfinite(v->number))
    return InvalidArgument("Expected a finite number for " + where(key) + " but received " + describe(*v));
  *out = v->number;
  return Status::Ok();
}

Status AttrReader::integer(const char* key, int64_t def, int64_t min, int64_t* out) const {
  const AttrValue* v = find(key);
  if (!v) {
    *out = def;
    return Status::Ok();
  }
  if (v->type != AttrValue::Type::kNumber)
    return InvalidType("Expected an integer for " + where(key) + " but received " + describe(*v));
  if (!(v->number >= static_cast<double>(min) && v->number <= 9007199254740992.0) ||
      v->number != std::floor(v->number))
    return InvalidArgument("Expected an integer >= " + std::to_string(min) + " for " + where(key) +
                           " but received " + describe(*v));
  *out = static_cast<int64_t>(v->number);
  return Status::Ok();
}

Status AttrReader::boolean(const char* key, bool def, bool* out) const {
  const AttrValue* v = find(key);
  if (!v) {
    *out = def;
    return Status::Ok();
  }
  if (v->type != AttrValue::Type::kBool)
    return InvalidType("Expected a boolean for " + where(key) + " but received " + describe(*v));
  *out = v->boolean;
  return Status::Ok();
}

Status AttrReader::activation(const char* key, Act def, Act* out) const {
  const AttrValue* v = find(key);
  if (!v) {
    *out = def;
    return Status::Ok();
  }
  std::string names;
  for (size_t i = 0; i < kNumActs; ++i) names += (i ? ", '" : "'") + std::string(kActNames[i]) + "'";
  if (v->type != AttrValue::Type::kString)
    return InvalidType("Expected one of " + names + " for " + where(key) + " but received " + describe(*v));
  if (!enum_from_name(kActNames, v->string.c_str(), out))
    return InvalidArgument("Expected one of " + names + " for " + where(key) + " but received " + describe(*v));
  return Status::Ok();
}

Status AttrReader::only(std::initializer_list<const char*> known) const {
  for (const auto& kv : s_.attrs) {
    bool ok = false;
    for (const char* k : known) ok = ok || kv.first == k;
    if (!ok) {
      std::string names;
      for (const char* k : known) names += (names.empty() ? "'" : ", '") + std::string(k) + "'";
      return InvalidArgument("Expected " + (names.empty() ? std::string("no attributes") : "attributes among " + names) +
                             " for " + s_.op + " layer '" + s_.name + "' but received \"" + kv.first + "\"");
    }
  }
  return Status::Ok();
}

// ---- build context ------------------------------------------------------------------------------
void BuildContext::param(const char* role, std::vector<int64_t> shape, bool state, float init, int64_t* offset) {
  *offset = -1;
  decls.push_back({role, std::move(shape), state, init, offset});
}

Status BuildContext::expect_inputs(size_t n) const {
  if (spec.inputs.size() != n)
    return InvalidArgument("Expected " + std::to_string(n) + " input(s) for layer '" + spec.name + "' but received " +
                           std::to_string(spec.inputs.size()));
  return Status::Ok();
}

Status BuildContext::expect_min_inputs(size_t n) const {
  if (spec.inputs.size() < n)
    return InvalidArgument("Expected at least " + std::to_string(n) + " inputs for layer '" + spec.name +
                           "' but received " + std::to_string(spec.inputs.size()));
  return Status::Ok();
}

// ---- scratch ------------------------------------------------------------------------------------
void Scratch::build(const Backend& be, const Plan& plan, bool training) {
  const size_t n = plan.width.size();
  acts.assign(n, DeviceArray());
  dacts.assign(n, DeviceArray());
  local.assign(n, DeviceArray());
  cur.assign(n, nullptr);
  for (size_t i = 0; i < n; ++i) {
    // Sized for the full widths: a Scratch built while the plan runs slimmed serves it at full width too.
    const int64_t w = plan.alloc_width.empty() ? plan.width[i] : plan.alloc_width[i];
    const size_t sz = static_cast<size_t>(plan.max_batch) * static_cast<size_t>(w);
    if (plan.has_buffer[i]) acts[i].assign(be, sz, 0.0f);
    if (training && plan.needs_grad[i]) dacts[i].assign(be, sz, 0.0f);
    if (plan.local[i] > 0) local[i].assign(be, static_cast<size_t>(plan.local[i]), 0.0f);
  }
  scratch.assign(be, static_cast<size_t>(plan.max_batch) * static_cast<size_t>(plan.max_width), 0.0f);
  dscratch.assign(static_cast<size_t>(2 * plan.max_width), 0.0);
}

size_t Scratch::bytes() const {
  size_t b = scratch.size();
  for (const auto* v : {&acts, &dacts, &local})
    for (const auto& a : *v) b += a.size();
  return b * sizeof(float) + dscratch.size() * sizeof(double);
}

// ---- run context --------------------------------------------------------------------------------
Status RunContext::give_grad(size_t k, const float* src, int64_t n) {
  if (!in_needs_grad(k)) return Status::Ok();
  if (in_single_consumer(k)) {
    if (din(k) != src) be.copy(din(k), src, static_cast<size_t>(n) * sizeof(float));
    return Status::Ok();
  }
  return be.axpy(1.0f, src, n, din(k));
}

}  // namespace nt
