// Indexes a tar archive held in a file by reading its 512-byte headers at their offsets,
// never the entries' bodies: a 512 MiB image archive is indexed in a handful of reads,
// and each layer is then copied from its byte range. Accepts what tar-stream (the
// streaming path) accepts: ustar and GNU headers, PAX `path`/`linkpath`/`size` records
// (global ones too) and GNU long names, with the same checksum and format checks.
import type { RandomAccessInput } from "../transport.js";
import { readFully } from "../random-access.js";

export const BLOCK = 512;
/** Largest PAX or GNU long-name body read (tar-stream's limit too). */
const MAX_LONG_HEADER = 4 << 20;

export type TarIndexType = "file" | "link" | "symlink" | "directory" | "other";

/** One entry: its header fields and where its body lies in the file. */
export interface TarIndexEntry {
  readonly name: string;
  readonly type: TarIndexType;
  readonly linkname: string;
  readonly size: number;
  /** Offset of the body's first byte. */
  readonly offset: number;
}

/**
 * Why an archive cannot be indexed, with the entry being read (as the streaming reader
 * words it: "it is truncated" for a body or header that runs past the end of the file).
 */
export class TarIndexError extends Error {
  constructor(
    message: string,
    readonly entry: string,
  ) {
    super(message);
  }
}

const utf8 = new TextDecoder();

function str(b: Uint8Array, off: number, len: number): string {
  const end = b.subarray(off, off + len).indexOf(0);
  return utf8.decode(b.subarray(off, end < 0 ? off + len : off + end));
}

/** An octal field (leading spaces/NULs allowed) or a base-256 one (high bit set); NaN when invalid. */
function num(b: Uint8Array, off: number, len: number): number {
  const f = b.subarray(off, off + len);
  if (f[0]! & 0x80) {
    if (f[0] !== 0x80) return NaN; // negative
    let n = 0;
    for (let i = 1; i < f.length; i++) n = n * 256 + f[i]!;
    return n;
  }
  let i = 0;
  while (i < f.length && f[i] === 32) i++;
  let end = f.indexOf(32, i);
  if (end < 0) end = f.length;
  while (i < end && f[i] === 0) i++;
  const digits = utf8.decode(f.subarray(i, end)).replace(/\0.*$/s, "");
  return digits === "" ? 0 : parseInt(digits, 8);
}

function checksum(b: Uint8Array): number {
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += b[i]!;
  for (let i = 156; i < BLOCK; i++) sum += b[i]!;
  return sum;
}

const isMagic = (b: Uint8Array, magic: string) => utf8.decode(b.subarray(257, 257 + magic.length)) === magic;

function typeOf(flag: number, name: string): TarIndexType {
  switch (flag) {
    case 0:
    case 48: // '0'
    case 55: // '7', contiguous
      return flag === 0 && name.endsWith("/") ? "directory" : "file";
    case 49:
      return "link";
    case 50:
      return "symlink";
    case 53:
      return "directory";
    default:
      return "other";
  }
}

/** `<len> <key>=<value>\n` records. */
function paxRecords(b: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let rest = b;
  while (rest.length) {
    const sp = rest.indexOf(32);
    const len = parseInt(utf8.decode(rest.subarray(0, sp < 0 ? rest.length : sp)), 10);
    if (!len || sp < 0) break;
    const rec = utf8.decode(rest.subarray(sp + 1, len - 1));
    const eq = rec.indexOf("=");
    if (eq < 0) break;
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    rest = rest.subarray(len);
  }
  return out;
}

/** `length` bytes at `position`; a file that ends before them is truncated at `entry`. */
export async function readExactly(input: RandomAccessInput, length: number, position: number, entry: string): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  if ((await readFully(input, buf, position)) < length) throw new TarIndexError("it is truncated", entry);
  return buf;
}

/** What a header block says: end-of-archive padding, a header for the next entry (PAX, GNU long name), or an entry. */
export type TarHeaderStep = { readonly kind: "zero" } | { readonly kind: "meta"; readonly size: number } | { readonly kind: "entry"; readonly entry: Omit<TarIndexEntry, "offset"> };

/** Bytes an entry's body takes in the archive (rounded up to whole blocks). */
export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/**
 * Decodes an archive's header blocks in order, whoever reads them (indexTar at offsets,
 * TarPushParser from a stream): checksum and format checks, and the PAX records and GNU
 * long names that carry over to the entry after them. Throws TarIndexError.
 */
export class TarHeaderDecoder {
  private paxGlobal = new Map<string, string>();
  private pax: Map<string, string> | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  /** The flag of the "meta" header whose body meta() takes next. */
  private metaFlag = 0;
  /** The last entry's name, to say where a broken archive broke. */
  last = "";

  /** Decode one 512-byte header block. A "meta" step's body (`size` bytes) MUST go to meta() next. */
  block(h: Uint8Array): TarHeaderStep {
    const sum = checksum(h);
    if (sum === 8 * 32) return { kind: "zero" }; // an all-zero block: end-of-archive padding
    if (sum !== num(h, 148, 8)) throw new TarIndexError("Invalid tar header. Maybe the tar is corrupted or it needs to be gunzipped?", this.last);
    let name = str(h, 0, 100);
    if (isMagic(h, "ustar\0")) {
      if (h[345]) name = `${str(h, 345, 155)}/${name}`;
    } else if (!isMagic(h, "ustar  \0")) {
      throw new TarIndexError("Invalid tar header: unknown format.", this.last);
    }
    const flag = h[156]!;
    let size = num(h, 124, 12);
    // PAX (x, g) and GNU long-name (L, K) headers describe the entry that follows.
    if (flag === 120 || flag === 103 || flag === 76 || flag === 75) {
      if (!(size >= 0) || size > MAX_LONG_HEADER) throw new TarIndexError("Header exceeds max size", this.last);
      this.metaFlag = flag;
      return { kind: "meta", size };
    }
    let linkname = h[157] === 0 ? "" : str(h, 157, 100);
    if (this.longName !== undefined) name = this.longName;
    if (this.longLink !== undefined) linkname = this.longLink;
    if (this.pax) {
      name = this.pax.get("path") || name;
      linkname = this.pax.get("linkpath") || linkname;
      if (this.pax.get("size")) size = parseInt(this.pax.get("size")!, 10);
    }
    this.longName = this.longLink = this.pax = undefined;
    if (!(size >= 0)) throw new TarIndexError("Invalid header", name);
    this.last = name;
    return { kind: "entry", entry: { name, type: typeOf(flag, name), linkname, size } };
  }

  /** The body of the last "meta" header. */
  meta(body: Uint8Array): void {
    const flag = this.metaFlag;
    if (flag === 120) this.pax = new Map([...this.paxGlobal, ...paxRecords(body)]);
    else if (flag === 103) this.paxGlobal = paxRecords(body);
    else if (flag === 76) this.longName = str(body, 0, body.length);
    else this.longLink = str(body, 0, body.length);
  }
}

/** The entries of the tar archive in `input`, in archive order. Throws TarIndexError. */
export async function indexTar(input: RandomAccessInput): Promise<TarIndexEntry[]> {
  const out: TarIndexEntry[] = [];
  const headers = new TarHeaderDecoder();
  let pos = 0;
  while (pos < input.size) {
    if (input.size - pos < BLOCK) throw new TarIndexError("it is truncated", headers.last);
    const step = headers.block(await readExactly(input, BLOCK, pos, headers.last));
    pos += BLOCK;
    if (step.kind === "zero") continue;
    const size = step.kind === "meta" ? step.size : step.entry.size;
    // Only files carry a body that the archive reader wants; others are skipped by size too.
    if (pos + size > input.size) throw new TarIndexError("it is truncated", headers.last);
    if (step.kind === "meta") headers.meta(await readExactly(input, size, pos, headers.last));
    else out.push({ ...step.entry, offset: pos });
    pos += paddedSize(size);
  }
  return out;
}
