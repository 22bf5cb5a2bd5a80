/**
 * Flag helpers shared by the `search`, `report` and `worker` commands: their errors are
 * NodetrainErrors with code ERR_NT_USAGE, in the message template, naming the flag as typed.
 */
import { ERR, NodetrainError } from '../errors';

/** Throws the usage error. */
export function usage(msg: string): never {
  throw new NodetrainError(ERR.USAGE, msg);
}

/** --name as an integer >= min, or dflt when the flag is absent. */
export function intFlag(name: string, s: string | undefined, dflt: number, min?: number): number;
export function intFlag(name: string, s: string | undefined, dflt: undefined, min?: number): number | undefined;
export function intFlag(name: string, s: string | undefined, dflt: number | undefined, min = 0): number | undefined {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isInteger(n) || n < min) usage(`Expected an integer >= ${min} for --${name} but received "${s}"`);
  return n;
}

/** "90s", "5m", "1.5h", "250ms" or plain seconds -> milliseconds. */
export function parseDuration(name: string, s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) usage(`Expected a duration such as 90s, 5m or 1h for --${name} but received "${s}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}
