// Optimizer configuration and state. The state is one struct, so that the divergence guard's
// snapshot and its restore, and the binding's state I/O, are plain copies.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/buffer.h"
#include "engine/schedule.h"
#include "nodetrain/enums.h"

namespace nt {

// The learning rate when a spec gives none (the TypeScript layer's default is the same value).
constexpr double kDefaultLearningRate = 1e-3;

struct GroupSpec {
  bool has_lr = false;
  double lr = 0;
  bool has_weight_decay = false;
  double weight_decay = 0;
  bool has_schedule = false;
  ScheduleSpec schedule;
};

struct OptimizerSpec {
  OptKind kind = OptKind::kAdam;
  double lr = kDefaultLearningRate;
  bool has_schedule = false;
  ScheduleSpec schedule;
  double momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  bool amsgrad = false;
  double alpha = 0.99;  // rmsprop
  bool centered = false;
  double lr_decay = 0, initial_accumulator = 0;  // adagrad
  double clip_norm = 0;   // 0: off. Clip by global norm of all trainable gradients.
  double clip_value = 0;  // 0: off. Clamp each gradient element to [-v, v].
  // Online learning-rate adaptation by hypergradient descent (Baydin et al. 2018, "Online Learning
  // Rate Adaptation with Hypergradient Descent", ICLR): alpha_t = alpha_{t-1} + beta * g_t . u_{t-1},
  // with u_{t-1} the previous update direction (theta_{t-2} - theta_{t-1}) / alpha_{t-1}, which is
  // g_{t-1} for SGD, the momentum buffer for momentum SGD, and m_hat / (sqrt(v_hat) + eps) for Adam.
  bool hypergradient = false;
  double hyper_lr = 0;            // beta
  double hyper_min_lr = 0, hyper_max_lr = 1e9;
  // Multiplicative rule (the paper's scale-free variant): alpha_t = alpha_{t-1} (1 + beta cos(g_t, u_{t-1})).
  bool hyper_multiplicative = false;
  std::vector<GroupSpec> groups;  // indexed by NodeSpec::group; missing groups use the defaults
};

// Everything an optimizer carries from step to step. m, v, vmax are num_trainable long or empty,
// their meaning depending on the optimizer: SGD momentum in m; Adam moments in m, v and the
// AMSGrad maximum in vmax; RMSProp square average in v, momentum in m, gradient average in vmax;
// AdaGrad accumulator in v.
struct OptimizerState {
  int64_t step = 0;  // applied updates
  DeviceArray m, v, vmax;
  // Hypergradient descent: the multiplier on the learning rate, whether a previous update
  // direction exists, its norm, and the direction itself (num_trainable long when on).
  double hd_mult = 1.0;
  bool hd_have_dir = false;
  double hd_dir_norm = 0;
  DeviceArray hd_dir;
};

}  // namespace nt
