/** log(n!) by summation, cached: calibration sample sizes are in the thousands at most. */
const logFactorials: number[] = [0];
function logFactorial(n: number): number {
  for (let i = logFactorials.length; i <= n; i++) logFactorials[i] = logFactorials[i - 1]! + Math.log(i);
  return logFactorials[n]!;
}

function pmf(k: number, n: number, p: number): number {
  if (p === 0) return k === 0 ? 1 : 0;
  if (p === 1) return k === n ? 1 : 0;
  return Math.exp(logFactorial(n) - logFactorial(k) - logFactorial(n - k) + k * Math.log(p) + (n - k) * Math.log(1 - p));
}

/**
 * The central interval [lo, hi] of Binomial(n, p) holding at least `confidence` of its mass
 * (each tail at most (1 - confidence) / 2): a count outside it happens by chance with
 * probability at most 1 - confidence.
 */
export function binomialInterval(n: number, p: number, confidence = 0.99): { lo: number; hi: number } {
  const tail = (1 - confidence) / 2;
  let lo = 0;
  let below = 0;
  while (lo < n && below + pmf(lo, n, p) <= tail) below += pmf(lo++, n, p);
  let hi = n;
  let above = 0;
  while (hi > 0 && above + pmf(hi, n, p) <= tail) above += pmf(hi--, n, p);
  return { lo, hi };
}

/**
 * The same interval by the normal approximation with the variance multiplied by `inflation`:
 * for correlated outcomes (burst loss), where a plain binomial interval would be too narrow.
 */
export function inflatedInterval(n: number, p: number, inflation: number, confidence = 0.99): { lo: number; hi: number } {
  const z = confidence >= 0.99 ? 2.576 : 1.96;
  const sd = Math.sqrt(n * p * (1 - p) * inflation);
  return { lo: Math.max(0, Math.floor(n * p - z * sd)), hi: Math.min(n, Math.ceil(n * p + z * sd)) };
}
