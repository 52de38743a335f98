/**
 * Waits for every one of `work`, then throws the first failure in their order: nothing is left
 * running behind a failure that came early (a build still creating layers, a container still
 * stopping), and which failure is reported does not depend on timing.
 */
export async function allOrFirstError<T extends readonly unknown[]>(work: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}
