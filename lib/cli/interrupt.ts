/**
 * Ctrl-C during `nodetrain train`: the first SIGINT stops training at the next step boundary,
 * saves the model trained so far with `metadata.interrupted` set, and exits with status 130; a
 * second SIGINT exits at once (status 130, nothing saved).
 */
import * as path from 'path';

import * as nt from '../index';

/** The exit status after an interrupt (128 + SIGINT, as shells report it). */
export const INTERRUPTED_EXIT_CODE = 130;

/**
 * Runs model.fit with a SIGINT handler installed for its duration. Returns the history when
 * training ends normally; after a first Ctrl-C it saves the model into `out` (marked interrupted)
 * and exits the process with INTERRUPTED_EXIT_CODE.
 */
export async function fitInterruptible(
  model: nt.Model,
  data: nt.Dataset,
  options: nt.FitOptions,
  save: { out: string; metadata: Record<string, unknown> },
): Promise<nt.History> {
  const controller = new AbortController();
  let count = 0;
  const onSigint = (): void => {
    count++;
    if (count === 1) {
      process.stderr.write('\nnodetrain: interrupted; stopping at the next step and saving the model (press Ctrl-C again to exit at once)\n');
      controller.abort();
    } else {
      process.stderr.write('\nnodetrain: interrupted again; exiting without saving\n');
      process.exit(INTERRUPTED_EXIT_CODE);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    return await model.fit(data, { ...options, signal: controller.signal });
  } catch (e) {
    if (!controller.signal.aborted) throw e;
    const history = (e as { history?: nt.History }).history;
    const epochs = history?.epoch.length ?? 0;
    const metadata = { ...save.metadata, interrupted: { epochsCompleted: epochs, optimizerSteps: model.optimizerStep } };
    await model.save(save.out, { metadata });
    process.stdout.write(`interrupted after ${epochs} complete epoch${epochs === 1 ? '' : 's'} (${model.optimizerStep} steps): saved the model trained so far to ${path.resolve(save.out)} (metadata.interrupted is set)\n`);
    process.exit(INTERRUPTED_EXIT_CODE);
  } finally {
    // The handler stays for the save above: a second Ctrl-C during it exits at once.
    process.off('SIGINT', onSigint);
  }
}
