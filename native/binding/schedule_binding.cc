// Schedule bindings: ParseSchedule (JS spec -> nt::ScheduleSpec, shared with the engine binding)
// and previews of a schedule's values:
//   scheduleValues(spec, fromStep, count) -> Float64Array of lr at steps fromStep .. fromStep+count-1
//   scheduleMomentumValues(spec, fromStep, count) -> Float64Array of momentum, NaN at steps where
//     the schedule does not set it.
// The JS layer (lib/schedules) validates specs with friendly messages first; the checks here are
// the backstop for what native evaluation relies on.
#include "schedule_binding.h"

#include <cmath>
#include <new>
#include <string>
#include <utility>

#include "common.h"

namespace ntb {
namespace {

// Largest preview: 2^27 doubles (1 GiB) keeps a typo from exhausting memory.
constexpr int64_t kMaxPreview = int64_t(1) << 27;

struct Kind {
  const char* name;
  nt::ScheduleKind kind;
};
constexpr Kind kKinds[] = {
    {"constant", nt::ScheduleKind::kConstant},
    {"step", nt::ScheduleKind::kStep},
    {"multiStep", nt::ScheduleKind::kMultiStep},
    {"exponential", nt::ScheduleKind::kExponential},
    {"polynomial", nt::ScheduleKind::kPolynomial},
    {"cosine", nt::ScheduleKind::kCosine},
    {"cosineWarmRestarts", nt::ScheduleKind::kCosineWarmRestarts},
    {"linearWarmup", nt::ScheduleKind::kLinear},
    {"oneCycle", nt::ScheduleKind::kOneCycle},
    {"sequence", nt::ScheduleKind::kSequence},
};

class Reader {
 public:
  Reader(Napi::Env env, Napi::Object obj, std::string path) : env_(env), obj_(obj), path_(std::move(path)) {}

  bool Double(const char* key, double* out) {
    Napi::Value v = obj_.Get(key);
    if (!v.IsNumber()) return Fail(key, "a number", true);
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d)) return Fail(key, "a finite number", false);
    *out = d;
    return true;
  }

  bool Int(const char* key, int64_t* out) {
    Napi::Value v = obj_.Get(key);
    if (!v.IsNumber()) return Fail(key, "an integer", true);
    return IntValue(v, key, out);
  }

  bool Bool(const char* key, bool* out) {
    Napi::Value v = obj_.Get(key);
    if (!v.IsBoolean()) return Fail(key, "a boolean", true);
    *out = v.As<Napi::Boolean>().Value();
    return true;
  }

  bool IntArray(const char* key, std::vector<int64_t>* out) {
    Napi::Value v = obj_.Get(key);
    if (!v.IsArray()) return Fail(key, "an array of integers", true);
    Napi::Array a = v.As<Napi::Array>();
    const uint32_t n = a.Length();
    out->clear();
    out->reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      Napi::Value e = a.Get(i);
      const std::string k = std::string(key) + "[" + std::to_string(i) + "]";
      if (!e.IsNumber()) return Fail(k.c_str(), "an integer", true);
      int64_t x;
      if (!IntValue(e, k.c_str(), &x)) return false;
      out->push_back(x);
    }
    return true;
  }

  bool Fail(const char* key, const char* what, bool type_error) {
    ThrowError(env_, ArgCode(type_error), std::string("Expected ") + what + " for " + path_ + "." + key);
    return false;
  }

  Napi::Object obj() const { return obj_; }
  const std::string& path() const { return path_; }

 private:
  bool IntValue(Napi::Value v, const char* key, int64_t* out) {
    const double d = v.As<Napi::Number>().DoubleValue();
    // |d| <= 2^53: every such integer is exact in a double and fits int64.
    if (!(std::fabs(d) <= 9007199254740992.0) || d != std::floor(d)) return Fail(key, "an integer", false);
    *out = static_cast<int64_t>(d);
    return true;
  }

  Napi::Env env_;
  Napi::Object obj_;
  std::string path_;
};

bool ParseAt(Napi::Env env, Napi::Value v, const std::string& path, int depth, nt::ScheduleSpec* out) {
  if (depth > nt::kMaxScheduleDepth) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue,
               "Expected sequences nested at most " + std::to_string(nt::kMaxScheduleDepth) + " deep for " + path);
    return false;
  }
  *out = nt::ScheduleSpec();
  if (v.IsNumber()) {
    out->kind = nt::ScheduleKind::kConstant;
    out->lr = v.As<Napi::Number>().DoubleValue();
    return true;  // validate_schedule checks the value
  }
  if (!v.IsObject() || v.IsArray() || v.IsFunction()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected a learning-rate schedule or a number for " + path);
    return false;
  }
  Reader r(env, v.As<Napi::Object>(), path);
  Napi::Value type = r.obj().Get("type");
  if (!type.IsString()) return r.Fail("type", "a schedule type string", true);
  const std::string t = type.As<Napi::String>().Utf8Value();
  bool found = false;
  for (const Kind& k : kKinds) {
    if (t == k.name) {
      out->kind = k.kind;
      found = true;
      break;
    }
  }
  if (!found) {
    std::string names;
    for (const Kind& k : kKinds) names += std::string(names.empty() ? "'" : ", '") + k.name + "'";
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected one of " + names + " for " + path + ".type but received '" + t + "'");
    return false;
  }
  nt::ScheduleSpec& s = *out;
  switch (s.kind) {
    case nt::ScheduleKind::kConstant:
      return r.Double("lr", &s.lr);
    case nt::ScheduleKind::kStep:
      return r.Double("lr", &s.lr) && r.Int("stepSize", &s.step_size) && r.Double("gamma", &s.gamma);
    case nt::ScheduleKind::kMultiStep:
      return r.Double("lr", &s.lr) && r.IntArray("milestones", &s.milestones) && r.Double("gamma", &s.gamma);
    case nt::ScheduleKind::kExponential:
      return r.Double("lr", &s.lr) && r.Double("gamma", &s.gamma);
    case nt::ScheduleKind::kPolynomial:
      return r.Double("lr", &s.lr) && r.Int("totalSteps", &s.total_steps) && r.Double("power", &s.power);
    case nt::ScheduleKind::kCosine:
      return r.Double("lr", &s.lr) && r.Int("tMax", &s.t_max) && r.Double("etaMin", &s.eta_min);
    case nt::ScheduleKind::kCosineWarmRestarts:
      return r.Double("lr", &s.lr) && r.Int("t0", &s.t0) && r.Int("tMult", &s.t_mult) &&
             r.Double("etaMin", &s.eta_min);
    case nt::ScheduleKind::kLinear:
      return r.Double("lr", &s.lr) && r.Double("startFactor", &s.start_factor) &&
             r.Double("endFactor", &s.end_factor) && r.Int("totalSteps", &s.total_steps);
    case nt::ScheduleKind::kOneCycle: {
      if (!(r.Double("maxLr", &s.max_lr) && r.Int("totalSteps", &s.total_steps) &&
            r.Double("pctStart", &s.pct_start) && r.Double("divFactor", &s.div_factor) &&
            r.Double("finalDivFactor", &s.final_div_factor) && r.Bool("threePhase", &s.three_phase) &&
            r.Bool("cycleMomentum", &s.cycle_momentum) && r.Double("baseMomentum", &s.base_momentum) &&
            r.Double("maxMomentum", &s.max_momentum))) {
        return false;
      }
      Napi::Value a = r.obj().Get("anneal");
      const std::string an = a.IsString() ? a.As<Napi::String>().Utf8Value() : std::string();
      if (an == "cos") {
        s.anneal = nt::AnnealKind::kCos;
      } else if (an == "linear") {
        s.anneal = nt::AnnealKind::kLinear;
      } else {
        return r.Fail("anneal", "one of 'cos', 'linear'", !a.IsString());
      }
      return true;
    }
    case nt::ScheduleKind::kSequence: {
      if (!r.IntArray("milestones", &s.milestones)) return false;
      Napi::Value c = r.obj().Get("schedules");
      if (!c.IsArray()) return r.Fail("schedules", "an array of schedules", true);
      Napi::Array arr = c.As<Napi::Array>();
      const uint32_t n = arr.Length();
      s.children.resize(n);
      for (uint32_t i = 0; i < n; ++i) {
        if (!ParseAt(env, arr.Get(i), path + ".schedules[" + std::to_string(i) + "]", depth + 1, &s.children[i])) {
          return false;
        }
      }
      return true;
    }
  }
  return false;
}

// Shared argument handling of the two preview functions.
bool PreviewArgs(const Napi::CallbackInfo& info, nt::ScheduleSpec* spec, int64_t* from, int64_t* count) {
  if (!ParseSchedule(info.Env(), info[0], "schedule", spec)) return false;
  if (!ArgInt(info, 1, "fromStep", from, 0, int64_t(1) << 53)) return false;
  if (!ArgInt(info, 2, "count", count, 0, kMaxPreview)) return false;
  return true;
}

Napi::Value ScheduleValues(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nt::ScheduleSpec spec;
  int64_t from, count;
  if (!PreviewArgs(info, &spec, &from, &count)) return env.Undefined();
  Napi::Float64Array out = Napi::Float64Array::New(env, static_cast<size_t>(count));
  double* d = out.Data();
  for (int64_t i = 0; i < count; ++i) d[i] = nt::schedule_lr(spec, from + i);
  return out;
}

Napi::Value ScheduleMomentumValues(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  nt::ScheduleSpec spec;
  int64_t from, count;
  if (!PreviewArgs(info, &spec, &from, &count)) return env.Undefined();
  Napi::Float64Array out = Napi::Float64Array::New(env, static_cast<size_t>(count));
  double* d = out.Data();
  for (int64_t i = 0; i < count; ++i) {
    double m;
    d[i] = nt::schedule_momentum(spec, from + i, &m) ? m : std::nan("");
  }
  return out;
}

}  // namespace

bool ParseSchedule(Napi::Env env, Napi::Value v, const char* name, nt::ScheduleSpec* out) {
  try {
    if (!ParseAt(env, v, name, 0, out)) return false;
    nt::Status st = nt::validate_schedule(*out);
    if (!st.ok()) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentValue, st.message() + " (in " + name + ")");
      return false;
    }
    return true;
  } catch (const std::bad_alloc&) {
    ThrowError(env, nt::StatusCode::kOutOfMemory, std::string("Out of memory while reading ") + name);
    return false;
  }
}

void InitSchedule(Napi::Env env, Napi::Object exports) {
  exports.Set("scheduleValues", Napi::Function::New<ScheduleValues>(env, "scheduleValues"));
  exports.Set("scheduleMomentumValues", Napi::Function::New<ScheduleMomentumValues>(env, "scheduleMomentumValues"));
}

}  // namespace ntb
