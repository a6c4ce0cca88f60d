// Canonical JSON: keys sorted, no whitespace, undefined dropped. Used for cache-key
// preimages and wherever bytes must be identical for equal values. Every plan step
// serialises its key preimage, so the writer appends to one string and keeps the objects
// it is inside on a short stack (for the cycle check), rather than building part arrays.

/** Serialise `value` canonically. Throws on values JSON cannot represent (functions, NaN, cycles). */
export function canonicalJson(value: unknown): string {
  return write(value, []);
}

/** `inside`: the objects being written, outermost first (a value among them is a cycle). */
function write(v: unknown, inside: object[]): string {
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
      if (inside.includes(v)) throw new TypeError("canonicalJson: cycle");
      inside.push(v);
      let out: string;
      if (Array.isArray(v)) out = writeArray(v, inside);
      else if (v instanceof Uint8Array) out = JSON.stringify(Array.from(v));
      else out = writeObject(v as Record<string, unknown>, inside);
      inside.pop();
      return out;
    }
    default:
      throw new TypeError(`canonicalJson: cannot serialise ${typeof v}`);
  }
}

function writeArray(v: readonly unknown[], inside: object[]): string {
  let out = "[";
  for (let i = 0; i < v.length; i++) {
    if (i > 0) out += ",";
    // A hole stays empty (as the map/join this replaces wrote it); an undefined item is null.
    if (!(i in v)) continue;
    const x = v[i];
    out += x === undefined ? "null" : write(x, inside);
  }
  return out + "]";
}

function writeObject(v: Record<string, unknown>, inside: object[]): string {
  const keys = Object.keys(v).sort();
  let out = "{";
  let first = true;
  for (const k of keys) {
    const x = v[k];
    if (x === undefined) continue;
    out += `${first ? "" : ","}${JSON.stringify(k)}:${write(x, inside)}`;
    first = false;
  }
  return out + "}";
}
