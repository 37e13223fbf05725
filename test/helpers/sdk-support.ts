import type * as sdk from 'matrix-js-sdk';

const noop = () => undefined;

/** A matrix-js-sdk logger that says nothing (the SDK is chatty about rooms it has not seen yet). */
export const silentLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  getChild: () => silentLogger,
} as unknown as sdk.MatrixClient['logger'];

/**
 * matrix-js-sdk 37.5.0 arms a timer of the request timeout plus 80 s for every request
 * (`timeoutSignal` in http-api/utils) and never clears it, so after the last /sync jest would wait
 * almost two minutes to exit. Such long timers must not keep the process alive: unref them.
 * Returns the function that puts the real setTimeout back.
 */
export function unrefLongTimers(): () => void {
  const real = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const timer = real(fn, ms, ...args);
    if ((ms ?? 0) >= 60_000) timer.unref();
    return timer;
  }) as typeof setTimeout;
  return () => {
    globalThis.setTimeout = real;
  };
}
