/**
 * The one portable x ISA x threads harness. `describeVariants(title, fn)` runs `fn` once per
 * kernel path this machine can take (the dispatched fast path and the forced-portable path) at 1
 * and 2 threads, restoring the process-wide settings afterwards, and prints once which ISA paths
 * the machine could not exercise.
 */
import { getForcePortable, getNumThreads, setForcePortable, setNumThreads } from '../../lib/runtime';

export interface Variant {
  name: string;
  portable: boolean;
  threads: number;
}

export const VARIANTS: Variant[] = [
  { name: 'dispatched, 1 thread', portable: false, threads: 1 },
  { name: 'dispatched, 2 threads', portable: false, threads: 2 },
  { name: 'portable, 1 thread', portable: true, threads: 1 },
  { name: 'portable, 2 threads', portable: true, threads: 2 },
];

/** Runs the suite body once per variant, inside its own describe block. */
export function describeVariants(title: string, body: (v: Variant) => void): void {
  describe.each(VARIANTS)(`${title}: $name`, (v) => {
    let threads0 = 1;
    let portable0 = false;
    beforeAll(() => {
      threads0 = getNumThreads();
      portable0 = getForcePortable();
      setForcePortable(v.portable);
      setNumThreads(v.threads);
    });
    afterAll(() => {
      setNumThreads(threads0);
      setForcePortable(portable0);
    });
    body(v);
  });
}
