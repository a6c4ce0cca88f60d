// "Did you mean X?": the closest candidate within edit distance 2, in the user's case
// (BuildKit's util/suggest).

/** Levenshtein distance, bounded: returns `max + 1` as soon as it is exceeded. */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  // Two rows of the table, swapped per row: this runs once per candidate per unknown word.
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const cost = ca === b.charCodeAt(j - 1) ? 0 : 1;
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev, cur] = [cur, prev];
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
