// Shared by the device checks (scripts/device/parity.js, scripts/device/train_parity.js): the
// relative L2 error they compare with, and the list of named checks with its failure count.
'use strict';

/** ||out - ref||_2 / ||ref||_2 (the floor keeps an all-zero reference finite); NaN anywhere: Infinity. */
function relErr(out, ref) {
  let num = 0, den = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = out[i] - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
  }
  return Number.isNaN(num) ? Infinity : Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/** results: every check made; check(name, err, tol) records and prints one; failed(): how many failed. */
function checker() {
  const results = [];
  const check = (name, err, tol) => {
    const ok = err <= tol;
    results.push({ name, err, tol, ok });
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}: rel err ${err.toExponential(2)} (tol ${tol})`);
  };
  return { results, check, failed: () => results.filter((r) => !r.ok).length };
}

module.exports = { relErr, checker };
