// Encodes tar headers for layer.ts: POSIX ustar blocks, preceded by a PAX extended header
// when a field does not fit (long or non-ASCII names, sizes ≥ 8 GiB, ids ≥ 2^21, xattrs).
// Written by hand rather than with tar-stream's pack so every byte is ours to fix: no
// uname/gname, no atime/ctime, no GNU extensions, and PAX records in a fixed order.

/** Entry types a layer can hold (typeflag bytes of POSIX.1-2001). */
export type TarEntryType = "file" | "hardlink" | "symlink" | "char" | "block" | "dir" | "fifo";

const TYPEFLAG: Record<TarEntryType, string> = { file: "0", hardlink: "1", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6" };

/** One header's fields. `path` has no leading slash; directories end with `/`. */
export interface TarHeader {
  readonly path: string;
  readonly type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (07777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Bytes of content that follow (0 for everything but `file`). */
  readonly size: number;
  /** Whole seconds since the epoch. */
  readonly mtime: number;
  readonly linkname?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
  /** Extended attributes, written as `SCHILY.xattr.<name>` PAX records. */
  readonly xattrs?: ReadonlyMap<string, Buffer>;
}

const BLOCK = 512;
const MAX_OCTAL_8 = 0o7777777; // uid, gid, mode, dev fields: 7 digits + NUL
const MAX_OCTAL_12 = 0o77777777777; // size and mtime: 11 digits + NUL

/**
 * Encode one entry's header blocks: an optional PAX `x` header with its records, then the
 * ustar header. Pure: equal input gives equal bytes.
 */
export function encodeHeader(h: TarHeader): Buffer {
  const pax: [string, Buffer][] = [];
  const nameBytes = Buffer.from(h.path, "utf8");
  const linkBytes = Buffer.from(h.linkname ?? "", "utf8");
  if (nameBytes.length > 100 || !isAscii(h.path)) pax.push(["path", nameBytes]);
  if (linkBytes.length > 100 || !isAscii(h.linkname ?? "")) pax.push(["linkpath", linkBytes]);
  if (h.size > MAX_OCTAL_12) pax.push(["size", Buffer.from(String(h.size))]);
  if (h.uid > MAX_OCTAL_8) pax.push(["uid", Buffer.from(String(h.uid))]);
  if (h.gid > MAX_OCTAL_8) pax.push(["gid", Buffer.from(String(h.gid))]);
  if (h.mtime > MAX_OCTAL_12) pax.push(["mtime", Buffer.from(String(h.mtime))]);
  if (h.xattrs) for (const name of [...h.xattrs.keys()].sort()) pax.push([`SCHILY.xattr.${name}`, h.xattrs.get(name)!]);

  const parts: Buffer[] = [];
  if (pax.length > 0) {
    const body = Buffer.concat(pax.map(([k, v]) => paxRecord(k, v)));
    parts.push(ustar({ path: paxHeaderName(h.path), type: "file", mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 0 }, "x"));
    parts.push(padBlock(body));
  }
  parts.push(ustar(h, TYPEFLAG[h.type]));
  return Buffer.concat(parts);
}

/** Zero bytes that pad `size` bytes of content to a whole block. */
export function paddingFor(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
}

/** The end-of-archive marker: two zero blocks (no blocking-factor padding, as Go's archive/tar). */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}

function ustar(h: TarHeader, typeflag: string): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeString(b, 0, 100, asciiTruncate(h.path, 100));
  writeOctal(b, 100, 8, h.mode & 0o7777);
  writeOctal(b, 108, 8, h.uid > MAX_OCTAL_8 ? 0 : h.uid);
  writeOctal(b, 116, 8, h.gid > MAX_OCTAL_8 ? 0 : h.gid);
  writeOctal(b, 124, 12, h.size > MAX_OCTAL_12 ? 0 : h.size);
  writeOctal(b, 136, 12, h.mtime > MAX_OCTAL_12 ? 0 : Math.max(0, h.mtime));
  b.write("        ", 148, 8, "latin1"); // checksum is computed with its own field as spaces
  b.write(typeflag, 156, 1, "latin1");
  writeString(b, 157, 100, asciiTruncate(h.linkname ?? "", 100));
  b.write("ustar\u000000", 257, 8, "latin1");
  // uname (265) and gname (297) stay empty: numeric ids only.
  if (h.type === "char" || h.type === "block") {
    writeOctal(b, 329, 8, h.devmajor ?? 0);
    writeOctal(b, 337, 8, h.devminor ?? 0);
  }
  let sum = 0;
  for (const byte of b) sum += byte;
  writeString(b, 148, 8, `${sum.toString(8).padStart(6, "0")}\u0000 `);
  return b;
}

/** `"<len> <key>=<value>\n"` where len counts the whole record, its own digits included. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(` ${key}=`) + value.length + 1;
  let len = rest + 1;
  while (rest + String(len).length !== len) len = rest + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from("\n")]);
}

/** Go's archive/tar convention: `<dir>/PaxHeaders.0/<base>`, ASCII, at most 100 bytes. */
function paxHeaderName(path: string): string {
  const trimmed = path.endsWith("/") ? path.slice(0, -1) : path;
  const slash = trimmed.lastIndexOf("/");
  const dir = slash < 0 ? "" : `${trimmed.slice(0, slash)}/`;
  return asciiTruncate(`${dir}PaxHeaders.0/${trimmed.slice(slash + 1)}`, 100);
}

function padBlock(b: Buffer): Buffer {
  return Buffer.concat([b, paddingFor(b.length)]);
}

function isAscii(s: string): boolean {
  return /^[\x01-\x7f]*$/.test(s);
}

function asciiTruncate(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[^\x01-\x7f]/g, "").slice(0, max);
}

function writeString(b: Buffer, off: number, len: number, s: string): void {
  b.write(s, off, len, "latin1");
}

function writeOctal(b: Buffer, off: number, len: number, n: number): void {
  writeString(b, off, len, `${Math.trunc(n).toString(8).padStart(len - 1, "0")}\u0000`);
}
