/**
 * The one portable x ISA x threads harness. `describeVariants(title, fn)` runs `fn` once per
 * kernel path this machine can take (the dispatched best path, every lower ISA level forced with
 * setMaxIsa, and the forced-portable path) at 1 and 2 threads, restoring the process-wide
 * settings afterwards, and prints once which ISA paths the machine could not exercise.
 */
import { cpuFeatures, getForcePortable, getMaxIsa, getNumThreads, setForcePortable, setMaxIsa, setNumThreads } from '../../lib/runtime';
import type { IsaLevel } from '../../lib/runtime';

export interface Variant {
  name: string;
  portable: boolean;
  threads: number;
  /** The ISA cap (null: the best this machine has). */
  isa: IsaLevel | null;
}

const LEVELS: IsaLevel[] = ['portable', 'avx2', 'avx512', 'amx'];
const best = cpuFeatures().bestIsa;
const bestIndex = LEVELS.indexOf(best);

/** The ISA levels between portable and the machine's best that can be forced (e.g. AVX2 on an AVX-512 CPU). */
export const FORCED_LEVELS: IsaLevel[] = LEVELS.slice(1, Math.max(1, bestIndex));
/** The ISA levels this machine cannot run (their kernels are compiled but not exercised here). */
export const MISSING_LEVELS: IsaLevel[] = LEVELS.slice(bestIndex + 1);

export const VARIANTS: Variant[] = [
  { name: `dispatched (${best}), 1 thread`, portable: false, threads: 1, isa: null },
  { name: `dispatched (${best}), 2 threads`, portable: false, threads: 2, isa: null },
  ...FORCED_LEVELS.flatMap((isa) => [
    { name: `${isa} forced, 1 thread`, portable: false, threads: 1, isa },
    { name: `${isa} forced, 2 threads`, portable: false, threads: 2, isa },
  ]),
  { name: 'portable, 1 thread', portable: true, threads: 1, isa: null },
  { name: 'portable, 2 threads', portable: true, threads: 2, isa: null },
];

let reported = false;
/** Prints (once per test file) which ISA paths this machine could not exercise. */
export function reportMissingPaths(): void {
  if (reported || MISSING_LEVELS.length === 0) return;
  reported = true;
  console.log(`kernel paths NOT exercised on this CPU (best: ${best}): ${MISSING_LEVELS.join(', ')}`);
}

/** Applies a variant's settings and returns a function that restores the previous ones. */
export function applyVariant(v: Pick<Variant, 'portable' | 'threads' | 'isa'>): () => void {
  const threads0 = getNumThreads();
  const portable0 = getForcePortable();
  const isa0 = getMaxIsa();
  setForcePortable(v.portable);
  setMaxIsa(v.isa);
  setNumThreads(v.threads);
  return () => {
    setNumThreads(threads0);
    setForcePortable(portable0);
    setMaxIsa(isa0);
  };
}

/** Runs the suite body once per variant, inside its own describe block. */
export function describeVariants(title: string, body: (v: Variant) => void): void {
  reportMissingPaths();
  describe.each(VARIANTS)(`${title}: $name`, (v) => {
    let restore: () => void = () => undefined;
    beforeAll(() => {
      restore = applyVariant(v);
    });
    afterAll(() => restore());
    body(v);
  });
}
