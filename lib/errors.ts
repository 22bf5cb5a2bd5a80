/**
 * Error classes. Every error nodetrain throws carries a string `code`; errors raised by the native
 * addon arrive with codes starting `ERR_NT_` and a JavaScript stack captured at the call site.
 */

import type { NativeStatusCode } from './native/enums';

/**
 * Every error code nodetrain uses, one per kind of failure. The ones a native call can fail with
 * are NATIVE_STATUS_CODES (lib/native/enums.ts; a compile-time check below fails when one is
 * missing here); the rest arise in TypeScript only.
 */
export const ERR = {
  INVALID_ARGUMENT_TYPE: 'ERR_NT_INVALID_ARGUMENT_TYPE',
  INVALID_ARGUMENT_VALUE: 'ERR_NT_INVALID_ARGUMENT_VALUE',
  OUT_OF_MEMORY: 'ERR_NT_OUT_OF_MEMORY',
  NOT_SUPPORTED: 'ERR_NT_NOT_SUPPORTED',
  CANCELLED: 'ERR_NT_CANCELLED',
  NON_FINITE: 'ERR_NT_NON_FINITE',
  IO: 'ERR_NT_IO',
  CORRUPT_FILE: 'ERR_NT_CORRUPT_FILE',
  BUSY: 'ERR_NT_BUSY',
  DISPOSED: 'ERR_NT_DISPOSED',
  INVALID_STATE: 'ERR_NT_INVALID_STATE',
  INTERNAL: 'ERR_NT_INTERNAL',
  NO_DEVICE: 'ERR_NT_NO_DEVICE',
  /** TypeScript only: */
  NOT_COMPILED: 'ERR_NT_NOT_COMPILED',
  LOAD: 'ERR_NT_LOAD',
  WEIGHTS_MISMATCH: 'ERR_NT_WEIGHTS_MISMATCH',
  INVALID_CSV: 'ERR_NT_INVALID_CSV',
  DATA_MISSING: 'ERR_NT_DATA_MISSING',
  STUDY_MISMATCH: 'ERR_NT_STUDY_MISMATCH',
  STUDY_LOCKED: 'ERR_NT_STUDY_LOCKED',
  NO_STUDY: 'ERR_NT_NO_STUDY',
  USAGE: 'ERR_NT_USAGE',
  UNAVAILABLE: 'ERR_NT_UNAVAILABLE',
  UNSUPPORTED: 'ERR_NT_UNSUPPORTED',
  /** A native error that carried no code. */
  NATIVE: 'ERR_NT_NATIVE',
} as const;
export type ErrorCode = (typeof ERR)[keyof typeof ERR];
// Compile-time check: every native status code has its entry above.
const everyNativeCode: Exclude<NativeStatusCode, ErrorCode> extends never ? true : never = true;
void everyNativeCode;

/** Base class of nodetrain's own errors (validation failures use TypeError / RangeError). */
export class NodetrainError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NodetrainError';
    this.code = code;
  }
}

/** A TypeError with a `code` (wrong type of argument). */
export class ArgumentTypeError extends TypeError {
  readonly code = ERR.INVALID_ARGUMENT_TYPE;
  constructor(message: string) {
    super(message);
    this.name = 'TypeError';
  }
}

/** A RangeError with a `code` (value out of range, wrong shape). */
export class ArgumentRangeError extends RangeError {
  readonly code = ERR.INVALID_ARGUMENT_VALUE;
  constructor(message: string) {
    super(message);
    this.name = 'RangeError';
  }
}

/**
 * Re-throws an error from the native addon as a NodetrainError with the caller's stack.
 * `stackHolder` should be created before any asynchronous work starts so the stack is useful.
 */
export function wrapNativeError(e: unknown, stackHolder?: { stack?: string }): NodetrainError {
  if (e instanceof NodetrainError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : ERR.NATIVE;
  const message = typeof err?.message === 'string' ? err.message : String(e);
  const out = new NodetrainError(code, message, { cause: e });
  if (stackHolder?.stack) {
    out.stack = `NodetrainError: ${message}\n${stackHolder.stack.split('\n').slice(1).join('\n')}`;
  }
  return out;
}

/** Runs a synchronous native call, mapping native errors to NodetrainError. */
export function callNative<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) throw e;
    throw wrapNativeError(e, new Error());
  }
}

/**
 * The error an aborted operation rejects with: an AbortError with Node's code ABORT_ERR (as
 * `fs` and `fetch` use), carrying what was done before the abort. @internal
 */
export function abortError(history: unknown): Error & { code: 'ABORT_ERR'; history: unknown } {
  const e = new Error('Training was aborted') as Error & { code: 'ABORT_ERR'; history: unknown };
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  e.history = history;
  return e;
}
