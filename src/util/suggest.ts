// "Did you mean X?": the closest candidate within edit distance 2, in the user's case
// (BuildKit's util/suggest).

/** Levenshtein distance, bounded: returns `max + 1` as soon as it is exceeded. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      cur.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `value` (case-insensitively) within `maxDistance`, rendered in
 * the case the user typed when the candidate differs only in case. Undefined when none is close.
 */
export function suggest(value: string, candidates: Iterable<string>, maxDistance = 2): string | undefined {
  const lower = value.toLowerCase();
  let best: string | undefined;
  let bestD = maxDistance + 1;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase(), maxDistance);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  if (best === undefined) return undefined;
  const userUpper = value === value.toUpperCase();
  const userLower = value === value.toLowerCase();
  if (userUpper) return best.toUpperCase();
  if (userLower) return best.toLowerCase();
  return best;
}

/** `did you mean X?` or undefined. */
export function didYouMean(value: string, candidates: Iterable<string>): string | undefined {
  const s = suggest(value, candidates);
  return s === undefined || s === value ? undefined : `did you mean ${s}?`;
}
