// Canonical JSON: keys sorted, no whitespace, undefined dropped. Used for cache-key
// preimages and wherever bytes must be identical for equal values.

/** Serialise `value` canonically. Throws on values JSON cannot represent (functions, NaN, cycles). */
export function canonicalJson(value: unknown): string {
  return write(value, new Set());
}

function write(v: unknown, seen: Set<object>): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "boolean":
      return v ? "true" : "false";
    case "number":
      if (!Number.isFinite(v)) throw new TypeError(`canonicalJson: non-finite number ${v}`);
      return JSON.stringify(v);
    case "bigint":
      return v.toString();
    case "object": {
      if (seen.has(v)) throw new TypeError("canonicalJson: cycle");
      seen.add(v);
      let out: string;
      if (Array.isArray(v)) {
        out = `[${v.map((x) => (x === undefined ? "null" : write(x, seen))).join(",")}]`;
      } else if (v instanceof Uint8Array) {
        out = JSON.stringify(Array.from(v));
      } else {
        const keys = Object.keys(v as object).sort();
        const parts: string[] = [];
        for (const k of keys) {
          const x = (v as Record<string, unknown>)[k];
          if (x === undefined) continue;
          parts.push(`${JSON.stringify(k)}:${write(x, seen)}`);
        }
        out = `{${parts.join(",")}}`;
      }
      seen.delete(v);
      return out;
    }
    default:
      throw new TypeError(`canonicalJson: cannot serialise ${typeof v}`);
  }
}
