/**
 * Checks of `nodetrain train`'s flags, run before any work or output: values are checked under the
 * flag the user typed (not the library option it becomes), and options that would silently
 * override or drop each other are refused.
 */
import * as nt from '../index';

type Flags = Record<string, string | boolean | undefined>;

const SCHEDULES = ['constant', 'cosine', 'onecycle', 'step', 'exponential', 'warmup-cosine'];
const OPTIMIZERS = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'];

/** The first problem with the flags, as a message naming the flag, or null. */
export function trainFlagError(a: Flags): string | null {
  const s = (k: string): string | undefined => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
  const number = (k: string, check: (n: number) => boolean, what: string): string | null => {
    const v = s(k);
    if (v === undefined) return null;
    const n = Number(v);
    return v.trim() !== '' && Number.isFinite(n) && check(n) ? null : `Expected ${what} for --${k} but received "${v}"`;
  };
  const posInt = (n: number): boolean => Number.isInteger(n) && n >= 1;
  const checks: (string | null)[] = [
    number('epochs', posInt, 'an integer >= 1'),
    number('batch-size', posInt, 'an integer >= 1'),
    number('threads', posInt, 'an integer >= 1'),
    number('seed', (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0'),
    number('patience', (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0'),
    number('dropout', (n) => n >= 0 && n < 1, 'a rate in [0, 1)'),
    number('momentum', (n) => n >= 0 && n < 1, 'a number in [0, 1)'),
    number('weight-decay', (n) => n >= 0, 'a number >= 0'),
    number('test', (n) => n >= 0 && n < 1, 'a fraction in [0, 1)'),
    number('validation', (n) => n >= 0 && n < 1, 'a fraction in [0, 1)'),
    s('lr') !== undefined && s('lr') !== 'auto' ? number('lr', (n) => n > 0, 'a number > 0 or auto') : null,
  ];
  for (const c of checks) if (c) return c;
  const layers = s('layers');
  if (layers !== undefined) {
    const bad = layers.split(',').map((x) => x.trim()).find((x) => !/^\d+$/.test(x) || Number(x) < 1);
    if (bad !== undefined) return `Expected comma-separated layer sizes >= 1 for --layers but received "${layers}"`;
  }
  const act = s('activation');
  if (act !== undefined && !(nt.ACTIVATIONS as readonly string[]).includes(act)) return `Expected one of ${nt.ACTIVATIONS.join(', ')} for --activation but received "${act}"`;
  const opt = s('optimizer') ?? 'adam';
  if (!OPTIMIZERS.includes(opt)) return `Expected one of ${OPTIMIZERS.join(', ')} for --optimizer but received "${opt}"`;
  const schedule = s('lr-schedule');
  if (schedule !== undefined && !SCHEDULES.includes(schedule)) return `Expected one of ${SCHEDULES.join(', ')} for --lr-schedule but received "${schedule}"`;
  const precision = s('precision');
  if (precision !== undefined && precision !== 'float32' && precision !== 'bf16') return `Expected float32 or bf16 for --precision but received "${precision}"`;
  const task = s('task');
  if (task !== undefined && task !== 'classification' && task !== 'regression' && task !== 'auto') return `Expected classification or regression for --task but received "${task}"`;

  // Conflicts: options that would be overridden or dropped without a word.
  const conflict = (x: string, y: string, why: string): string => `Expected either --${x} or --${y}, not both: ${why}`;
  if (s('lr') === 'auto' && schedule !== undefined && schedule !== 'constant') return conflict('lr auto', 'lr-schedule', '--lr auto chooses its own one-cycle schedule');
  if (s('lr') === 'auto' && a['find-lr']) return conflict('lr auto', 'find-lr', '--find-lr only runs the range test that --lr auto runs before training');
  if (s('test-data') !== undefined && s('test') !== undefined) return conflict('test-data', 'test', 'with a test file nothing is cut from --data');
  if (s('validation-data') !== undefined && s('validation') !== undefined) return conflict('validation-data', 'validation', 'with a validation file nothing is cut for validation');
  if (s('momentum') !== undefined && opt !== 'sgd' && opt !== 'rmsprop') return `Expected --optimizer sgd or rmsprop with --momentum but received "${opt}", which has no momentum`;
  if (s('data') === undefined) {
    for (const k of ['target', 'task', 'columns', 'ignore', 'test', 'test-data', 'validation-data', 'class-weight']) {
      if (s(k) !== undefined) return `Expected --data <file.csv> with --${k} (without --data the bundled digits are used)`;
    }
  }
  if (s('patience') !== undefined && Number(s('patience')) > 0 && s('validation') !== undefined && Number(s('validation')) === 0 && s('validation-data') === undefined) {
    return 'Expected validation rows for --patience (it watches val_loss) but received --validation 0 and no --validation-data';
  }
  return null;
}
