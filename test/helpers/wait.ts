// Bounded waits for tests: every wait names what it waited for and gives up after a deadline.

/** Resolves with the promise's value, or rejects after `ms` naming what was awaited. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves once `predicate()` holds, checking every `everyMs`; rejects after `ms` naming what was awaited.
 * For state that changes without an event of its own (a socket's close seen by the server, a store).
 */
export function eventually(ms: number, what: string, predicate: () => boolean, everyMs = 10): Promise<void> {
  let poll: NodeJS.Timeout | undefined;
  return within(
    ms,
    what,
    new Promise<void>((resolve) => {
      const check = () => {
        if (!predicate()) return;
        clearInterval(poll);
        resolve();
      };
      poll = setInterval(check, everyMs);
      check();
    }),
  ).finally(() => clearInterval(poll));
}
