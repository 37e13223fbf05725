/** Polls until the check returns a truthy value (or throws with the description after the timeout). */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  description: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${description}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
