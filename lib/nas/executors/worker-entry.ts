/**
 * The worker side of WorkerExecutor: loads the objective once, then runs one trial per 'run'
 * message, forwarding reports to the main thread and waiting for its prune decision.
 */
import { parentPort, workerData } from 'worker_threads';

import * as nt from '../api';
import { mlpObjective } from '../mlp';
import { Objective, TrialPruned, trialContext } from '../objective';
import type { TrialTask } from '../objective';
import type { WorkerObjective } from './worker';

const port = parentPort!;
const data = workerData as { objective: WorkerObjective; threads: number };
nt.setNumThreads(data.threads);

function load(ref: WorkerObjective): Objective {
  if ('builtin' in ref) return mlpObjective(ref.spec);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const mod = require(ref.module) as Record<string, unknown>;
  const fn = mod[ref.exportName ?? 'default'] ?? (ref.exportName ? undefined : mod);
  if (typeof fn !== 'function') throw new TypeError(`Expected a function exported as ${ref.exportName ?? 'default'} from ${ref.module} but received ${typeof fn}`);
  return fn as Objective;
}

let objective: Objective | null = null;
let loadError: unknown = null;
try {
  objective = load(data.objective);
} catch (e) {
  loadError = e;
}

const pending = new Map<number, (prune: boolean) => void>();
let nextId = 0;

port.on('message', (m: { type: string; task?: TrialTask; id?: number; prune?: boolean }) => {
  if (m.type === 'prune') {
    pending.get(m.id!)?.(!!m.prune);
    pending.delete(m.id!);
    return;
  }
  if (m.type !== 'run') return;
  const ac = new AbortController();
  const ctx = trialContext(m.task!, {
    signal: ac.signal,
    report: (step, value) =>
      new Promise<boolean>((resolve) => {
        const id = ++nextId;
        pending.set(id, resolve);
        port.postMessage({ type: 'report', id, step, value });
      }),
  });
  void (async () => {
    try {
      if (!objective) throw loadError;
      const result = await objective(ctx);
      port.postMessage({ type: 'done', result, pruned: ctx.pruned });
    } catch (e) {
      const err = e as Error;
      port.postMessage({ type: 'error', message: String(err?.message ?? err), stack: String(err?.stack ?? err), pruned: ctx.pruned || e instanceof TrialPruned });
    }
  })();
});
