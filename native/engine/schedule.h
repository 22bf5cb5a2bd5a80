// Learning-rate schedules as plain data, evaluated natively once per optimizer step.
//
// A ScheduleSpec is a small tree: a kind, the numeric fields that kind reads, milestones, and
// (for kSequence) child schedules. schedule_lr(spec, t) gives the learning rate of optimizer
// update t (t = 0 for the first update); schedule_momentum gives the momentum (SGD momentum or
// Adam beta1) for schedules that cycle it. Both are pure functions of t, so the training loop
// keeps no scheduler state and can resume at any step.
//
// Every kind reproduces PyTorch's torch.optim.lr_scheduler definitions (the LRScheduler stepped
// once per optimizer step), using PyTorch's closed forms (_get_closed_form_lr) where it has one:
//   kConstant            lr
//   kStep                StepLR:        lr * gamma^floor(t / step_size)
//   kMultiStep           MultiStepLR:   lr * gamma^bisect_right(milestones, t)
//   kExponential         ExponentialLR: lr * gamma^t
//   kPolynomial          PolynomialLR:  lr * (1 - min(t, T) / T)^power
//   kCosine              CosineAnnealingLR closed form:
//                          eta_min + (lr - eta_min) * (1 + cos(pi * t / t_max)) / 2
//                        (periodic past t_max, as PyTorch's closed and recursive forms are)
//   kCosineWarmRestarts  CosineAnnealingWarmRestarts (SGDR): T_i = t0 * t_mult^k, T_cur = t since
//                        the last restart; eta_min + (lr - eta_min) * (1 + cos(pi*T_cur/T_i)) / 2
//   kLinear              LinearLR: lr * (start + (end - start) * min(t, T) / T)
//   kOneCycle            OneCycleLR (two or three phases, cos or linear annealing, momentum
//                        cycling). PyTorch raises past total_steps; here steps >= total_steps
//                        hold the value of step total_steps - 1 (min_lr, max_momentum).
//   kSequence            SequentialLR with every child restarted at its milestone: child i
//                        (i >= 1) sees step t - milestones[i - 1]; i = bisect_right(milestones, t).
// Reference: PyTorch torch/optim/lr_scheduler.py; SGDR (Loshchilov & Hutter, arXiv:1608.03983);
// 1cycle (Smith & Topin, arXiv:1708.07120).
#pragma once
#include <cstdint>
#include <vector>

#include "nodetrain/status.h"

namespace nt {

enum class ScheduleKind : int32_t {
  kConstant = 0,
  kStep,
  kMultiStep,
  kExponential,
  kPolynomial,
  kCosine,
  kCosineWarmRestarts,
  kLinear,
  kOneCycle,
  kSequence,
};

enum class AnnealKind : int32_t { kCos = 0, kLinear = 1 };

// Fields not used by a kind are ignored. Defaults are PyTorch's where it has one.
struct ScheduleSpec {
  ScheduleKind kind = ScheduleKind::kConstant;
  double lr = 0.0;             // base lr (every kind but kOneCycle / kSequence)
  double gamma = 0.1;          // kStep, kMultiStep, kExponential
  int64_t step_size = 1;       // kStep
  int64_t total_steps = 1;     // kPolynomial, kLinear (total_iters), kOneCycle
  double power = 1.0;          // kPolynomial
  int64_t t_max = 1;           // kCosine
  int64_t t0 = 1;              // kCosineWarmRestarts
  int64_t t_mult = 1;          // kCosineWarmRestarts
  double eta_min = 0.0;        // kCosine, kCosineWarmRestarts
  double start_factor = 1.0 / 3.0;  // kLinear
  double end_factor = 1.0;          // kLinear
  // kOneCycle
  double max_lr = 0.0;
  double pct_start = 0.3;
  AnnealKind anneal = AnnealKind::kCos;
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  bool three_phase = false;
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  // kMultiStep: decay points; kSequence: children.size() - 1 switch points. Strictly increasing.
  std::vector<int64_t> milestones;
  std::vector<ScheduleSpec> children;  // kSequence
};

// Deepest nesting of kSequence accepted by validate_schedule (guards recursion).
constexpr int kMaxScheduleDepth = 16;

// Checks every invariant the evaluators rely on (finite values, positive periods, increasing
// milestones, no empty one-cycle phase, nesting depth). schedule_lr / schedule_momentum are only
// defined for specs that pass.
Status validate_schedule(const ScheduleSpec& s);

// Learning rate of optimizer update `step` (0-based; negative steps are treated as 0).
double schedule_lr(const ScheduleSpec& s, int64_t step);

// True when the schedule sets the momentum at `step` (a kOneCycle with cycle_momentum, possibly
// inside a kSequence); *momentum then receives the value, which replaces SGD momentum or Adam
// beta1. False leaves *momentum untouched: the optimizer's configured momentum applies.
bool schedule_momentum(const ScheduleSpec& s, int64_t step, double* momentum);

}  // namespace nt
