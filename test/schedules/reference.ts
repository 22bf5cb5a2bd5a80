/**
 * PyTorch's learning-rate schedulers (torch/optim/lr_scheduler.py), written out independently in
 * plain JS for the tests: each `*Chain` simulates the scheduler the way PyTorch steps it (the
 * recursive get_lr applied to the previous lr, one call per optimizer step; element t is the lr
 * at last_epoch = t), and the `*Closed` functions are PyTorch's _get_closed_form_lr.
 */

// StepLR.get_lr: unchanged unless last_epoch is a positive multiple of step_size.
export function stepChain(lr: number, stepSize: number, gamma: number, n: number): number[] {
  const out: number[] = [];
  let cur = lr;
  for (let e = 0; e < n; e++) {
    if (e !== 0 && e % stepSize === 0) cur *= gamma;
    out.push(cur);
  }
  return out;
}

// MultiStepLR.get_lr: multiplies by gamma^(count of e in milestones).
export function multiStepChain(lr: number, milestones: number[], gamma: number, n: number): number[] {
  const out: number[] = [];
  let cur = lr;
  for (let e = 0; e < n; e++) {
    const c = milestones.filter((m) => m === e).length;
    if (c > 0) cur *= gamma ** c;
    out.push(cur);
  }
  return out;
}

// ExponentialLR.get_lr: lr * gamma after the initial step.
export function exponentialChain(lr: number, gamma: number, n: number): number[] {
  const out: number[] = [];
  let cur = lr;
  for (let e = 0; e < n; e++) {
    if (e > 0) cur *= gamma;
    out.push(cur);
  }
  return out;
}

// PolynomialLR.get_lr: ratio of consecutive decay factors until total_iters.
export function polynomialChain(lr: number, total: number, power: number, n: number): number[] {
  const out: number[] = [];
  let cur = lr;
  for (let e = 0; e < n; e++) {
    if (e > 0 && e <= total) cur *= ((1 - e / total) / (1 - (e - 1) / total)) ** power;
    out.push(cur);
  }
  return out;
}

// CosineAnnealingLR.get_lr (the recursive form, including its restart branch).
export function cosineChain(lr: number, tMax: number, etaMin: number, n: number): number[] {
  const out: number[] = [];
  let cur = lr;
  const pyMod = (a: number, m: number): number => ((a % m) + m) % m;
  for (let e = 0; e < n; e++) {
    if (e > 0) {
      if (pyMod(e - 1 - tMax, 2 * tMax) === 0) {
        cur = cur + ((lr - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2;
      } else {
        cur =
          ((1 + Math.cos((Math.PI * e) / tMax)) / (1 + Math.cos((Math.PI * (e - 1)) / tMax))) * (cur - etaMin) + etaMin;
      }
    }
    out.push(cur);
  }
  return out;
}

export function cosineClosed(lr: number, tMax: number, etaMin: number, e: number): number {
  return etaMin + ((lr - etaMin) * (1 + Math.cos((Math.PI * e) / tMax))) / 2;
}

// CosineAnnealingWarmRestarts.step() without an epoch argument: T_cur += 1, wrap into the next,
// T_mult times longer cycle.
export function warmRestartsChain(lr: number, t0: number, tMult: number, etaMin: number, n: number): number[] {
  const out: number[] = [];
  let tCur = 0;
  let tI = t0;
  for (let e = 0; e < n; e++) {
    if (e > 0) {
      tCur += 1;
      if (tCur >= tI) {
        tCur = tCur % tI;
        tI = tI * tMult;
      }
    }
    out.push(etaMin + ((lr - etaMin) * (1 + Math.cos((Math.PI * tCur) / tI))) / 2);
  }
  return out;
}

// LinearLR.get_lr: start factor at epoch 0, then the ratio of consecutive factors.
export function linearChain(lr: number, start: number, end: number, total: number, n: number): number[] {
  const out: number[] = [];
  let cur = lr;
  for (let e = 0; e < n; e++) {
    if (e === 0) cur = lr * start;
    else if (e <= total) cur = cur * (1 + (end - start) / (total * start + (e - 1) * (end - start)));
    out.push(cur);
  }
  return out;
}

export interface OneCycleOpts {
  maxLr: number;
  totalSteps: number;
  pctStart: number;
  anneal: 'cos' | 'linear';
  divFactor: number;
  finalDivFactor: number;
  threePhase: boolean;
  baseMomentum: number;
  maxMomentum: number;
}

// OneCycleLR.get_lr: the phase table and walk, with _annealing_cos / _annealing_linear.
export function oneCycleAt(o: OneCycleOpts, step: number): { lr: number; momentum: number } {
  const annealingCos = (start: number, end: number, pct: number): number => {
    const cosOut = Math.cos(Math.PI * pct) + 1;
    return end + ((start - end) / 2.0) * cosOut;
  };
  const annealingLinear = (start: number, end: number, pct: number): number => (end - start) * pct + start;
  const anneal = o.anneal === 'cos' ? annealingCos : annealingLinear;
  const initialLr = o.maxLr / o.divFactor;
  const minLr = initialLr / o.finalDivFactor;
  const T = o.totalSteps;
  const phases = o.threePhase
    ? [
        { end: o.pctStart * T - 1, lr: [initialLr, o.maxLr], m: [o.maxMomentum, o.baseMomentum] },
        { end: 2 * o.pctStart * T - 2, lr: [o.maxLr, initialLr], m: [o.baseMomentum, o.maxMomentum] },
        { end: T - 1, lr: [initialLr, minLr], m: [o.maxMomentum, o.maxMomentum] },
      ]
    : [
        { end: o.pctStart * T - 1, lr: [initialLr, o.maxLr], m: [o.maxMomentum, o.baseMomentum] },
        { end: T - 1, lr: [o.maxLr, minLr], m: [o.baseMomentum, o.maxMomentum] },
      ];
  let startStep = 0;
  for (let i = 0; i < phases.length; i++) {
    const p = phases[i];
    if (step <= p.end || i === phases.length - 1) {
      const pct = (step - startStep) / (p.end - startStep);
      return { lr: anneal(p.lr[0], p.lr[1], pct), momentum: anneal(p.m[0], p.m[1], pct) };
    }
    startStep = p.end;
  }
  throw new Error('unreachable');
}

/**
 * Largest error of `out` against `ref`, relative to each |ref| but never to less than
 * `floor * max|ref|` (values that decay to 0 are compared on the schedule's own scale).
 */
export function maxRelError(out: ArrayLike<number>, ref: ArrayLike<number>, floor = 1e-6): number {
  if (out.length !== ref.length) throw new Error(`length ${out.length} != ${ref.length}`);
  let peak = 0;
  for (let i = 0; i < ref.length; i++) peak = Math.max(peak, Math.abs(ref[i]));
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(out[i] - ref[i]) / Math.max(Math.abs(ref[i]), floor * peak, Number.MIN_VALUE);
    if (!(e <= worst)) worst = e; // NaN propagates as the worst
  }
  return worst;
}
