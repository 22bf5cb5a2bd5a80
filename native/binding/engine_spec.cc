// Spec parsing (see engine_spec.h). The TypeScript layer validated everything with friendly
// messages; this rechecks what native code relies on, in the same message template.
#include "engine_spec.h"

#include "schedule_binding.h"

namespace ntb {

bool NumField(Napi::Env env, Napi::Object o, const char* key, const std::string& where, double def, double* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    *out = def;
    return true;
  }
  if (!v.IsNumber()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType,
               "Expected a number for " + where + "." + key + " but received " + Describe(v));
    return false;
  }
  *out = v.As<Napi::Number>().DoubleValue();
  return true;
}

bool BoolField(Napi::Env env, Napi::Object o, const char* key, const std::string& where, bool def, bool* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    *out = def;
    return true;
  }
  if (!v.IsBoolean()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType,
               "Expected a boolean for " + where + "." + key + " but received " + Describe(v));
    return false;
  }
  *out = v.As<Napi::Boolean>().Value();
  return true;
}

namespace {

bool IntField(Napi::Env env, Napi::Object o, const char* key, const std::string& where, int64_t def, int64_t min,
              int64_t max, int64_t* out) {
  double d;
  if (!NumField(env, o, key, where, static_cast<double>(def), &d)) return false;
  if (!(d >= static_cast<double>(min) && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue,
               "Expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "] for " + where + "." +
                   key + " but received " + Describe(o.Get(key)));
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

bool ParseAttrs(Napi::Env env, Napi::Value v, const std::string& where, nt::Attrs* attrs) {
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsObject() || v.IsArray()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType,
               "Expected an object for " + where + " but received " + Describe(v));
    return false;
  }
  Napi::Object o = v.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string k = keys.Get(i).ToString().Utf8Value();
    Napi::Value x = o.Get(k);
    nt::AttrValue a;
    if (x.IsUndefined()) continue;
    if (x.IsNumber()) {
      a.type = nt::AttrValue::Type::kNumber;
      a.number = x.As<Napi::Number>().DoubleValue();
    } else if (x.IsBoolean()) {
      a.type = nt::AttrValue::Type::kBool;
      a.boolean = x.As<Napi::Boolean>().Value();
    } else if (x.IsString()) {
      a.type = nt::AttrValue::Type::kString;
      a.string = x.As<Napi::String>().Utf8Value();
    } else {
      ThrowError(env, nt::StatusCode::kInvalidArgumentType,
                 "Expected a number, boolean or string for " + where + "." + k + " but received " + Describe(x));
      return false;
    }
    (*attrs)[k] = std::move(a);
  }
  return true;
}

}  // namespace

bool ParseOptimizer(Napi::Env env, Napi::Value v, nt::OptimizerSpec* o) {
  if (!v.IsObject()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected an object for optimizer but received " + Describe(v));
    return false;
  }
  Napi::Object ob = v.As<Napi::Object>();
  const std::string w = "optimizer";
  if (!ParseName(env, ob.Get("kind"), "optimizer.kind", nt::kOptimizerNames, &o->kind)) return false;
  o->has_schedule = false;
  Napi::Value sv = ob.Get("schedule");
  if (!sv.IsUndefined() && !sv.IsNull()) {
    if (!ParseSchedule(env, sv, "optimizer.schedule", &o->schedule)) return false;
    o->has_schedule = true;
  }
  double i_acc = 0, ml = 0;
  if (!NumField(env, ob, "lr", w, nt::kDefaultLearningRate, &o->lr) ||
      !NumField(env, ob, "momentum", w, 0, &o->momentum) || !NumField(env, ob, "dampening", w, 0, &o->dampening) ||
      !NumField(env, ob, "weightDecay", w, 0, &o->weight_decay) ||
      !BoolField(env, ob, "nesterov", w, false, &o->nesterov) || !NumField(env, ob, "beta1", w, 0.9, &o->beta1) ||
      !NumField(env, ob, "beta2", w, 0.999, &o->beta2) || !NumField(env, ob, "eps", w, 1e-8, &o->eps) ||
      !BoolField(env, ob, "amsgrad", w, false, &o->amsgrad) || !NumField(env, ob, "alpha", w, 0.99, &o->alpha) ||
      !BoolField(env, ob, "centered", w, false, &o->centered) || !NumField(env, ob, "lrDecay", w, 0, &o->lr_decay) ||
      !NumField(env, ob, "initialAccumulatorValue", w, 0, &i_acc) ||
      !NumField(env, ob, "clipNorm", w, 0, &o->clip_norm) || !NumField(env, ob, "clipValue", w, 0, &o->clip_value) ||
      !BoolField(env, ob, "hypergradient", w, false, &o->hypergradient) ||
      !NumField(env, ob, "hyperLr", w, 0, &o->hyper_lr) || !NumField(env, ob, "hyperMinLr", w, 0, &ml) ||
      !NumField(env, ob, "hyperMaxLr", w, 1e9, &o->hyper_max_lr) ||
      !BoolField(env, ob, "hyperMultiplicative", w, false, &o->hyper_multiplicative))
    return false;
  o->initial_accumulator = i_acc;
  o->hyper_min_lr = ml;
  o->groups.clear();
  Napi::Value gv = ob.Get("groups");
  if (gv.IsArray()) {
    Napi::Array ga = gv.As<Napi::Array>();
    for (uint32_t i = 0; i < ga.Length(); ++i) {
      nt::GroupSpec g;
      Napi::Value e = ga.Get(i);
      if (e.IsObject()) {
        Napi::Object go = e.As<Napi::Object>();
        if (go.Get("lr").IsNumber()) {
          g.has_lr = true;
          g.lr = go.Get("lr").As<Napi::Number>().DoubleValue();
        }
        if (go.Get("weightDecay").IsNumber()) {
          g.has_weight_decay = true;
          g.weight_decay = go.Get("weightDecay").As<Napi::Number>().DoubleValue();
        }
        Napi::Value gs = go.Get("schedule");
        if (!gs.IsUndefined() && !gs.IsNull()) {
          if (!ParseSchedule(env, gs, "optimizer.groups[].schedule", &g.schedule)) return false;
          g.has_schedule = true;
        }
      }
      o->groups.push_back(std::move(g));
    }
  }
  return true;
}

bool ParseSpec(Napi::Env env, Napi::Value v, nt::ModelSpec* spec) {
  if (!v.IsObject()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected an object for spec but received " + Describe(v));
    return false;
  }
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value nv = o.Get("nodes");
  if (!nv.IsArray()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected an array for spec.nodes but received " + Describe(nv));
    return false;
  }
  Napi::Array na = nv.As<Napi::Array>();
  for (uint32_t i = 0; i < na.Length(); ++i) {
    const std::string where = "spec.nodes[" + std::to_string(i) + "]";
    Napi::Value e = na.Get(i);
    if (!e.IsObject()) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected an object for " + where + " but received " + Describe(e));
      return false;
    }
    Napi::Object no = e.As<Napi::Object>();
    nt::NodeSpec s;
    Napi::Value op = no.Get("op");
    if (!op.IsString()) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentType,
                 "Expected an op name for " + where + ".op but received " + Describe(op));
      return false;
    }
    s.op = op.As<Napi::String>().Utf8Value();
    Napi::Value name = no.Get("name");
    s.name = name.IsString() ? name.As<Napi::String>().Utf8Value() : ("node" + std::to_string(i));
    Napi::Value iv = no.Get("inputs");
    if (iv.IsArray()) {
      Napi::Array ia = iv.As<Napi::Array>();
      for (uint32_t k = 0; k < ia.Length(); ++k) {
        Napi::Value x = ia.Get(k);
        s.inputs.push_back(x.IsNumber() ? x.As<Napi::Number>().Int32Value() : -1);
      }
    } else if (!iv.IsUndefined()) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentType,
                 "Expected an array for " + where + ".inputs but received " + Describe(iv));
      return false;
    }
    int64_t group;
    if (!ParseAttrs(env, no.Get("attrs"), where + ".attrs", &s.attrs) ||
        !IntField(env, no, "group", where, 0, 0, 1 << 20, &group) ||
        !BoolField(env, no, "trainable", where, true, &s.trainable))
      return false;
    s.group = static_cast<int>(group);
    spec->nodes.push_back(std::move(s));
  }
  int64_t output;
  if (!IntField(env, o, "output", "spec", static_cast<int64_t>(na.Length()) - 1, -1, 1 << 30, &output)) return false;
  spec->output = static_cast<int>(output);
  Napi::Value lv = o.Get("loss");
  if (!lv.IsObject()) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected an object for spec.loss but received " + Describe(lv));
    return false;
  }
  if (!ParseName(env, lv.As<Napi::Object>().Get("kind"), "spec.loss.kind", nt::kLossNames, &spec->loss.kind) ||
      !NumField(env, lv.As<Napi::Object>(), "huberDelta", "spec.loss", 1.0, &spec->loss.huber_delta))
    return false;
  Napi::Value mv = o.Get("metrics");
  if (mv.IsArray()) {
    Napi::Array ma = mv.As<Napi::Array>();
    for (uint32_t i = 0; i < ma.Length(); ++i) {
      nt::MetricKind k;
      if (!ParseName(env, ma.Get(i), "spec.metrics[" + std::to_string(i) + "]", nt::kMetricNames, &k)) return false;
      spec->metrics.push_back(k);
    }
  }
  double tw, seed;
  if (!NumField(env, o, "targetWidth", "spec", 1, &tw) ||
      !BoolField(env, o, "sparseLabels", "spec", false, &spec->sparse_labels) ||
      !NumField(env, o, "seed", "spec", 0, &seed))
    return false;
  spec->target_width = static_cast<int64_t>(tw);
  spec->seed = static_cast<uint64_t>(seed);
  Napi::Value pv = o.Get("precision");
  if (!pv.IsUndefined() && !ParseName(env, pv, "spec.precision", nt::kPrecisionNames, &spec->precision)) return false;
  Napi::Value dv = o.Get("device");
  if (!dv.IsUndefined() && !ParseName(env, dv, "spec.device", nt::kDeviceNames, &spec->device)) return false;
  return ParseOptimizer(env, o.Get("optimizer"), &spec->optimizer);
}

NativeBuffer* UnwrapBuffer(Napi::Env env, Napi::Value v, const std::string& name) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(data->native_buffer.Value())) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentType, "Expected a NativeBuffer for " + name + " but received " + Describe(v));
    return nullptr;
  }
  NativeBuffer* b = NativeBuffer::Unwrap(v.As<Napi::Object>());
  if (b->disposed()) {
    ThrowError(env, nt::StatusCode::kDisposed, "Expected a live tensor for " + name + " but it was disposed");
    return nullptr;
  }
  return b;
}

bool ParseData(Napi::Env env, Napi::Value xv, Napi::Value yv, int64_t rows, int64_t cols, const std::string& what,
               nt::DataView* d, std::vector<NativeBuffer*>* used) {
  NativeBuffer* xb = UnwrapBuffer(env, xv, what + ".x");
  const int64_t x_size = Mul(rows, cols);
  if (x_size < 0) {
    ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected rows * cols to fit in memory for " + what);
    return false;
  }
  if (!xb || !CheckBuffer(env, xb, (what + ".x").c_str(), DType::kFloat32, x_size)) return false;
  d->x = xb->f32();
  d->rows = rows;
  d->cols = cols;
  used->push_back(xb);
  if (yv.IsUndefined() || yv.IsNull()) return true;
  NativeBuffer* yb = UnwrapBuffer(env, yv, what + ".y");
  if (!yb) return false;
  if (yb->dtype() == DType::kInt32) {
    if (!CheckBuffer(env, yb, (what + ".y").c_str(), DType::kInt32, rows)) return false;
    d->labels = yb->i32();
  } else {
    if (rows == 0 || yb->length() % rows != 0) {
      ThrowError(env, nt::StatusCode::kInvalidArgumentValue, "Expected " + what + ".y to have a whole number of columns");
      return false;
    }
    d->y = yb->f32();
    d->y_cols = yb->length() / rows;
  }
  used->push_back(yb);
  return true;
}

Napi::Array ToArray(Napi::Env env, const std::vector<double>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); ++i) a.Set(static_cast<uint32_t>(i), v[i]);
  return a;
}

Napi::Object LogsToJs(Napi::Env env, const nt::EpochLogs& l) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("epoch", l.epoch);
  o.Set("loss", l.loss);
  o.Set("metrics", ToArray(env, l.metrics));
  if (l.has_val) {
    o.Set("valLoss", l.val_loss);
    o.Set("valMetrics", ToArray(env, l.val_metrics));
  }
  o.Set("lr", l.lr);
  o.Set("steps", static_cast<double>(l.steps));
  o.Set("seconds", l.seconds);
  o.Set("recoveries", l.recoveries);
  return o;
}

}  // namespace ntb
