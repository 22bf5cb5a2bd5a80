/**
 * Error classes. Every error nodetrain throws carries a string `code`; errors raised by the native
 * addon arrive with codes starting `ERR_NT_` and a JavaScript stack captured at the call site.
 */

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
  readonly code = 'ERR_NT_INVALID_ARGUMENT_TYPE';
  constructor(message: string) {
    super(message);
    this.name = 'TypeError';
  }
}

/** A RangeError with a `code` (value out of range, wrong shape). */
export class ArgumentRangeError extends RangeError {
  readonly code = 'ERR_NT_INVALID_ARGUMENT_VALUE';
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
  const code = typeof err?.code === 'string' ? err.code : 'ERR_NT_NATIVE';
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
