// Builds tar archives byte by byte for tests, including hostile ones no honest tar tool
// would write (absolute names, "..", links out of the tree, lying sizes, bad checksums).
// Independent of src/exec/tar-header.ts on purpose: the tests must not trust the writer.
import { gzipSync } from "node:zlib";

export type TarType = "file" | "hardlink" | "symlink" | "char" | "block" | "dir" | "fifo" | "pax" | "gnu-longname";
const FLAG: Record<TarType, string> = { file: "0", hardlink: "1", symlink: "2", char: "3", block: "4", dir: "5", fifo: "6", pax: "x", "gnu-longname": "L" };

export interface TarEntrySpec {
  name: string;
  type?: TarType;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  content?: string | Buffer;
  /** Size written in the header when it should lie about the content length. */
  headerSize?: number;
  devmajor?: number;
  devminor?: number;
  /** PAX records emitted in an `x` header before this entry. */
  pax?: Record<string, string>;
  /** Corrupt the checksum. */
  badChecksum?: boolean;
}

function octal(n: number, len: number): string {
  return `${n.toString(8).padStart(len - 1, "0")}\0`;
}

function header(e: TarEntrySpec, size: number): Buffer {
  const b = Buffer.alloc(512);
  b.write(e.name, 0, 100, "utf8");
  b.write(octal(e.mode ?? (e.type === "dir" ? 0o755 : 0o644), 8), 100, "latin1");
  b.write(octal(e.uid ?? 0, 8), 108, "latin1");
  b.write(octal(e.gid ?? 0, 8), 116, "latin1");
  b.write(octal(size, 12), 124, "latin1");
  b.write(octal(e.mtime ?? 1_600_000_000, 12), 136, "latin1");
  b.write("        ", 148, "latin1");
  b.write(FLAG[e.type ?? "file"], 156, "latin1");
  b.write(e.linkname ?? "", 157, 100, "utf8");
  b.write("ustar\u000000", 257, "latin1");
  b.write(octal(e.devmajor ?? 0, 8), 329, "latin1");
  b.write(octal(e.devminor ?? 0, 8), 337, "latin1");
  let sum = 0;
  for (const x of b) sum += x;
  if (e.badChecksum) sum += 1;
  b.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return b;
}

function pad(n: number): Buffer {
  return Buffer.alloc((512 - (n % 512)) % 512);
}

function paxBody(records: Record<string, string>): Buffer {
  return Buffer.concat(
    Object.entries(records).map(([k, v]) => {
      const rest = Buffer.byteLength(` ${k}=${v}\n`);
      let len = rest + 1;
      while (rest + String(len).length !== len) len = rest + String(len).length;
      return Buffer.from(`${len} ${k}=${v}\n`);
    }),
  );
}

/** A tar archive of `entries`, ended by two zero blocks unless `truncate` is set. */
export function buildTar(entries: TarEntrySpec[], opts: { truncate?: boolean; gzip?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.pax) {
      const body = paxBody(e.pax);
      parts.push(header({ name: "PaxHeaders.0/x", type: "pax" }, body.length), body, pad(body.length));
    }
    const content = Buffer.from(e.content ?? "");
    parts.push(header(e, e.headerSize ?? content.length), content, pad(content.length));
  }
  if (!opts.truncate) parts.push(Buffer.alloc(1024));
  const tar = Buffer.concat(parts);
  return opts.gzip ? gzipSync(tar) : tar;
}
