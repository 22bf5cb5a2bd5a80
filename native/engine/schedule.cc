// Learning-rate schedules: validation and per-step evaluation (see schedule.h for the formulas).
// Expressions keep PyTorch's operation order so the values agree with its closed forms to the
// last bit or two.
#include "schedule.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <string>

namespace nt {
namespace {

constexpr double kPi = 3.14159265358979323846;

bool finite(double x) { return std::isfinite(x); }

Status Bad(const std::string& what) { return InvalidArgument("Invalid schedule: " + what); }

Status validate_at(const ScheduleSpec& s, int depth) {
  if (depth > kMaxScheduleDepth) return Bad("sequences nested deeper than " + std::to_string(kMaxScheduleDepth));
  auto lr_ok = [&]() { return finite(s.lr) && s.lr >= 0.0; };
  switch (s.kind) {
    case ScheduleKind::kConstant:
      if (!lr_ok()) return Bad("lr must be a finite number >= 0");
      return Status::Ok();
    case ScheduleKind::kStep:
      if (!lr_ok()) return Bad("lr must be a finite number >= 0");
      if (!(finite(s.gamma) && s.gamma > 0.0)) return Bad("gamma must be a finite number > 0");
      if (s.step_size < 1) return Bad("stepSize must be an integer >= 1");
      return Status::Ok();
    case ScheduleKind::kMultiStep:
      if (!lr_ok()) return Bad("lr must be a finite number >= 0");
      if (!(finite(s.gamma) && s.gamma > 0.0)) return Bad("gamma must be a finite number > 0");
      for (size_t i = 0; i < s.milestones.size(); ++i) {
        if (s.milestones[i] < 0 || (i > 0 && s.milestones[i] <= s.milestones[i - 1])) {
          return Bad("milestones must be strictly increasing integers >= 0");
        }
      }
      return Status::Ok();
    case ScheduleKind::kExponential:
      if (!lr_ok()) return Bad("lr must be a finite number >= 0");
      if (!(finite(s.gamma) && s.gamma > 0.0)) return Bad("gamma must be a finite number > 0");
      return Status::Ok();
    case ScheduleKind::kPolynomial:
      if (!lr_ok()) return Bad("lr must be a finite number >= 0");
      if (s.total_steps < 1) return Bad("totalSteps must be an integer >= 1");
      if (!(finite(s.power) && s.power >= 0.0)) return Bad("power must be a finite number >= 0");
      return Status::Ok();
    case ScheduleKind::kCosine:
      if (!lr_ok()) return Bad("lr must be a finite number >= 0");
      if (s.t_max < 1) return Bad("tMax must be an integer >= 1");
      if (!(finite(s.eta_min) && s.eta_min >= 0.0)) return Bad("etaMin must be a finite number >= 0");
      return Status::Ok();
    case ScheduleKind::kCosineWarmRestarts:
      if (!lr_ok()) return Bad("lr must be a finite number >= 0");
      if (s.t0 < 1) return Bad("t0 must be an integer >= 1");
      if (s.t_mult < 1) return Bad("tMult must be an integer >= 1");
      if (!(finite(s.eta_min) && s.eta_min >= 0.0)) return Bad("etaMin must be a finite number >= 0");
      return Status::Ok();
    case ScheduleKind::kLinear:
      if (!lr_ok()) return Bad("lr must be a finite number >= 0");
      if (!(finite(s.start_factor) && s.start_factor > 0.0 && s.start_factor <= 1.0)) {
        return Bad("startFactor must be a number > 0 and <= 1");
      }
      if (!(finite(s.end_factor) && s.end_factor >= 0.0 && s.end_factor <= 1.0)) {
        return Bad("endFactor must be a number >= 0 and <= 1");
      }
      if (s.total_steps < 1) return Bad("totalSteps must be an integer >= 1");
      return Status::Ok();
    case ScheduleKind::kOneCycle:
      if (!(finite(s.max_lr) && s.max_lr > 0.0)) return Bad("maxLr must be a finite number > 0");
      if (s.total_steps < 1) return Bad("totalSteps must be an integer >= 1");
      if (!(finite(s.pct_start) && s.pct_start > 0.0 && s.pct_start < 1.0)) {
        return Bad("pctStart must be a number > 0 and < 1");
      }
      // pct_start * total_steps == 1 makes the first phase empty: PyTorch divides 0 by 0 there.
      if (s.pct_start * static_cast<double>(s.total_steps) == 1.0) {
        return Bad("pctStart * totalSteps must not equal 1 (an empty warm-up phase)");
      }
      if (s.anneal != AnnealKind::kCos && s.anneal != AnnealKind::kLinear) return Bad("unknown anneal");
      if (!(finite(s.div_factor) && s.div_factor > 0.0)) return Bad("divFactor must be a finite number > 0");
      if (!(finite(s.final_div_factor) && s.final_div_factor > 0.0)) {
        return Bad("finalDivFactor must be a finite number > 0");
      }
      if (s.cycle_momentum) {
        if (!(finite(s.base_momentum) && s.base_momentum >= 0.0 && s.base_momentum < 1.0)) {
          return Bad("baseMomentum must be a number >= 0 and < 1");
        }
        if (!(finite(s.max_momentum) && s.max_momentum >= 0.0 && s.max_momentum < 1.0)) {
          return Bad("maxMomentum must be a number >= 0 and < 1");
        }
      }
      return Status::Ok();
    case ScheduleKind::kSequence: {
      if (s.children.empty()) return Bad("a sequence needs at least one schedule");
      if (s.milestones.size() != s.children.size() - 1) {
        return Bad("a sequence needs one milestone fewer than schedules");
      }
      for (size_t i = 0; i < s.milestones.size(); ++i) {
        if (s.milestones[i] < 1 || (i > 0 && s.milestones[i] <= s.milestones[i - 1])) {
          return Bad("sequence milestones must be strictly increasing integers >= 1");
        }
      }
      for (const ScheduleSpec& c : s.children) NT_RETURN_IF_ERROR(validate_at(c, depth + 1));
      return Status::Ok();
    }
  }
  return Bad("unknown kind");
}

// Number of milestones <= t (Python's bisect_right).
int64_t bisect_right(const std::vector<int64_t>& m, int64_t t) {
  return static_cast<int64_t>(std::upper_bound(m.begin(), m.end(), t) - m.begin());
}

double anneal(AnnealKind a, double start, double end, double pct) {
  if (a == AnnealKind::kCos) {
    // OneCycleLR._annealing_cos
    const double cos_out = std::cos(kPi * pct) + 1.0;
    return end + (start - end) / 2.0 * cos_out;
  }
  return (end - start) * pct + start;  // OneCycleLR._annealing_linear
}

// OneCycleLR.get_lr's phase walk; writes the lr and the momentum of step t.
void one_cycle(const ScheduleSpec& s, int64_t step, double* lr, double* momentum) {
  const int64_t t = std::min(step, s.total_steps - 1);
  const double initial_lr = s.max_lr / s.div_factor;
  const double min_lr = initial_lr / s.final_div_factor;
  const double T = static_cast<double>(s.total_steps);
  struct Phase {
    double end_step, start_lr, end_lr, start_m, end_m;
  };
  Phase phases[3];
  int n;
  if (s.three_phase) {
    phases[0] = {s.pct_start * T - 1.0, initial_lr, s.max_lr, s.max_momentum, s.base_momentum};
    phases[1] = {2.0 * s.pct_start * T - 2.0, s.max_lr, initial_lr, s.base_momentum, s.max_momentum};
    phases[2] = {T - 1.0, initial_lr, min_lr, s.max_momentum, s.max_momentum};
    n = 3;
  } else {
    phases[0] = {s.pct_start * T - 1.0, initial_lr, s.max_lr, s.max_momentum, s.base_momentum};
    phases[1] = {T - 1.0, s.max_lr, min_lr, s.base_momentum, s.max_momentum};
    n = 2;
  }
  const double x = static_cast<double>(t);
  double start_step = 0.0;
  for (int i = 0; i < n; ++i) {
    const Phase& p = phases[i];
    if (x <= p.end_step || i == n - 1) {
      const double denom = p.end_step - start_step;
      // validate_schedule rules out every empty phase that a step < total_steps can reach; the
      // guard only keeps an unvalidated spec from producing 0/0.
      const double pct = denom == 0.0 ? 0.0 : (x - start_step) / denom;
      *lr = anneal(s.anneal, p.start_lr, p.end_lr, pct);
      *momentum = anneal(s.anneal, p.start_m, p.end_m, pct);
      return;
    }
    start_step = p.end_step;
  }
}

// The child active at step t of a sequence and the step it sees.
const ScheduleSpec& sequence_child(const ScheduleSpec& s, int64_t t, int64_t* local) {
  const int64_t idx = bisect_right(s.milestones, t);
  *local = idx > 0 ? t - s.milestones[static_cast<size_t>(idx - 1)] : t;
  return s.children[static_cast<size_t>(idx)];
}

}  // namespace

Status validate_schedule(const ScheduleSpec& s) { return validate_at(s, 0); }

double schedule_lr(const ScheduleSpec& s, int64_t step) {
  const int64_t t = step < 0 ? 0 : step;
  switch (s.kind) {
    case ScheduleKind::kConstant:
      return s.lr;
    case ScheduleKind::kStep:
      return s.lr * std::pow(s.gamma, static_cast<double>(t / s.step_size));
    case ScheduleKind::kMultiStep:
      return s.lr * std::pow(s.gamma, static_cast<double>(bisect_right(s.milestones, t)));
    case ScheduleKind::kExponential:
      return s.lr * std::pow(s.gamma, static_cast<double>(t));
    case ScheduleKind::kPolynomial: {
      const double T = static_cast<double>(s.total_steps);
      return s.lr * std::pow(1.0 - static_cast<double>(std::min(s.total_steps, t)) / T, s.power);
    }
    case ScheduleKind::kCosine:
      return s.eta_min +
             (s.lr - s.eta_min) * (1.0 + std::cos(kPi * static_cast<double>(t) / static_cast<double>(s.t_max))) / 2.0;
    case ScheduleKind::kCosineWarmRestarts: {
      // Walk the restarts: T_i grows by t_mult per cycle, so this takes O(log t) iterations for
      // t_mult >= 2; t_mult == 1 is a plain modulo. Integer arithmetic, unlike PyTorch's log-based
      // epoch form, so there is no rounding at cycle boundaries.
      int64_t cur = t;
      int64_t ti = s.t0;
      double ti_d = static_cast<double>(ti);
      if (s.t_mult == 1) {
        cur = t % s.t0;
      } else {
        while (cur >= ti) {
          cur -= ti;
          if (ti > INT64_MAX / s.t_mult) {
            // The next cycle is longer than any int64 step, so it is the last one reached.
            ti_d = static_cast<double>(ti) * static_cast<double>(s.t_mult);
            break;
          }
          ti *= s.t_mult;
          ti_d = static_cast<double>(ti);
        }
      }
      return s.eta_min + (s.lr - s.eta_min) * (1.0 + std::cos(kPi * static_cast<double>(cur) / ti_d)) / 2.0;
    }
    case ScheduleKind::kLinear: {
      const double T = static_cast<double>(s.total_steps);
      return s.lr * (s.start_factor +
                     (s.end_factor - s.start_factor) * static_cast<double>(std::min(s.total_steps, t)) / T);
    }
    case ScheduleKind::kOneCycle: {
      double lr = 0.0, m = 0.0;
      one_cycle(s, t, &lr, &m);
      return lr;
    }
    case ScheduleKind::kSequence: {
      int64_t local = 0;
      const ScheduleSpec& c = sequence_child(s, t, &local);
      return schedule_lr(c, local);
    }
  }
  return 0.0;
}

bool schedule_momentum(const ScheduleSpec& s, int64_t step, double* momentum) {
  const int64_t t = step < 0 ? 0 : step;
  if (s.kind == ScheduleKind::kOneCycle) {
    if (!s.cycle_momentum) return false;
    double lr = 0.0;
    one_cycle(s, t, &lr, momentum);
    return true;
  }
  if (s.kind == ScheduleKind::kSequence) {
    int64_t local = 0;
    const ScheduleSpec& c = sequence_child(s, t, &local);
    return schedule_momentum(c, local, momentum);
  }
  return false;
}

}  // namespace nt
