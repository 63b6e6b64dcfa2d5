/**
 * Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`.
 * Audit lines and metrics are recorded when the server sees the response close, which can be
 * a moment after the client has read it: tests wait for them instead of racing.
 */
export async function eventually<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 2000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
