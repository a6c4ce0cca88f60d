// Reads an image archive as a transport source: docker-archive (`manifest.json`, from
// `docker save`, `podman save`, skopeo) or OCI image layout in a tar (`index.json`),
// either gzipped or not. Large entries stream straight into the destination while being
// hashed; small ones are kept in memory. Every digest is checked before any image is
// handed over: a blob's path digest, the manifest's descriptors and the config's diff IDs.
// An uncompressed archive in a file is not streamed: its headers are read where they lie
// (tar-index.ts) and each large entry goes to the destination as a file range, which the
// store copies with its own reused buffers (tar-stream's parsing and per-chunk buffers
// cost more CPU than the hashing itself). A stream (a pipe, a gzipped archive) is read
// front to back by tar-push.ts, with the same header decoding; a pipe read into one reused
// buffer passes each large entry's bytes on as views of it (pushed.ts), not copies.
import { TbuildError, isDigest, type Digest } from "../../util/index.js";
import { Annotation, isIndexType, isManifestType } from "../media-types.js";
import { parseConfig, parseIndex, parseManifest, decodeJson } from "../manifest.js";
import { formatReference, parseReference } from "../reference.js";
import type { BlobInfo, ImageDestination, ImageSource, RandomAccessInput, TransferImage, TransferLayer } from "../transport.js";
import { PieceRelay, eachPiece, sniffing, type PushedBytes } from "../pushed.js";
import type { Descriptor, DockerArchiveManifestEntry, ImageConfig } from "../types.js";
import { rangeChunks, readFully } from "../random-access.js";
import { collect, hashBytes, isGzip, layerDecompressor, once, type ArchiveCodecDeps, type LayerDecompressor } from "./deps.js";
import { TarIndexError, indexTar, readExactly, type TarIndexEntry } from "./tar-index.js";
import { TarPushParser, type TarBodySink } from "./tar-push.js";

/** Entries up to this size (and JSON files) are kept in memory until the manifest is read. */
const SMALL = 1 << 20;
const MAX_JSON = 64 << 20;
/**
 * Large entries of an uncompressed archive file sent to the destination at once: the
 * store copies and hashes each on a worker thread, so two keep both cores busy.
 */
const PARALLEL_PUTS = 2;

type Entry =
  | { kind: "mem"; bytes: Uint8Array }
  | { kind: "put"; raw: BlobInfo; stored: BlobInfo; compressed: boolean }
  | { kind: "link"; target: string };

export interface ArchiveSourceOptions {
  /** Platform to pick from a multi-platform index (default: the first linux one). */
  readonly platform?: { os: string; architecture: string };
}

export type ArchiveFormat = "docker" | "oci";

/** Normalise a tar entry name: no leading `./` or `/`, no `.` segments, `..` resolved. */
export function normalizeEntryName(name: string): string {
  const out: string[] = [];
  for (const seg of name.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return out.join("/");
}

function bad(message: string, hint?: string): TbuildError {
  return new TbuildError("E_ARCHIVE_INVALID", message, hint ? { hint } : {});
}

/** A compressed layer's decompressor failed: the bytes are not valid `format` (a destination's own TbuildError passes as is). */
function notDecompressed(label: string, d: LayerDecompressor, e: unknown): unknown {
  if (e instanceof TbuildError) return e;
  return bad(`${label} is not valid ${d.format}: ${e instanceof Error ? e.message : String(e)}`, "the archive was modified or is corrupt; nothing was stored");
}

/** The archive cannot be parsed at entry `at` (a normalised name, or "" before the first). */
function unreadable(at: string, msg: string): TbuildError {
  return bad(`cannot read the archive${at ? ` at ${at}` : ""}: ${/unexpected end|premature|truncat/i.test(msg) ? "it is truncated" : msg}`, "the file is truncated or not a (gzipped) tar archive");
}

/** A TarIndexError as the E_ARCHIVE_INVALID the streaming path gives; anything else unchanged. */
function rethrowUnreadable(e: unknown): never {
  throw e instanceof TarIndexError ? unreadable(normalizeEntryName(e.entry), e.message) : e;
}

/** What an archive is read from: a stream, pushed pieces (a pipe), or a file read at offsets. */
export type ArchiveInput = AsyncIterable<Uint8Array> | PushedBytes | RandomAccessInput;

function isRandomAccess(input: ArchiveInput): input is RandomAccessInput {
  return typeof (input as RandomAccessInput).read === "function" && typeof (input as RandomAccessInput).size === "number";
}

/** `input` whose reads fail once `signal` is aborted, so an interrupt stops a large layer mid-way. */
function abortable(input: RandomAccessInput, signal: AbortSignal | undefined): RandomAccessInput {
  if (!signal) return input;
  return {
    size: input.size,
    ...(input.fd !== undefined ? { fd: input.fd } : {}),
    read: (buf, position) => {
      signal.throwIfAborted();
      return input.read(buf, position);
    },
  };
}

/** The digest a path names (`blobs/sha256/<hex>`, `<hex>.json`, `<hex>/layer.tar`), if any. */
function digestFromPath(path: string): Digest | undefined {
  const m = /(?:^|\/)(?:blobs\/sha256\/)?([a-f0-9]{64})(?:\.json)?$/.exec(path);
  if (!m) return undefined;
  return path.startsWith("blobs/") || path.endsWith(".json") ? (`sha256:${m[1]}` as Digest) : undefined;
}

export class ArchiveSource implements ImageSource {
  private readonly entries = new Map<string, Entry>();
  /** The format found, once copyTo has read the archive. */
  format: ArchiveFormat | undefined;

  /** `input`: a stream, pushed pieces, or a file to read at offsets (the fast path when it is not gzipped). */
  constructor(
    private readonly input: ArchiveInput,
    private readonly deps: ArchiveCodecDeps,
    private readonly opts: ArchiveSourceOptions = {},
  ) {}

  async copyTo(dest: ImageDestination, signal?: AbortSignal): Promise<readonly TransferImage[]> {
    await this.readEntries(dest, signal);
    if (this.entries.has("manifest.json")) {
      this.format = "docker";
      return this.dockerImages(dest);
    }
    if (this.entries.has("index.json")) {
      this.format = "oci";
      return this.ociImages(dest);
    }
    throw bad("not an image archive: it has neither manifest.json (docker-archive) nor index.json (OCI layout)", this.entries.size ? undefined : "the input is empty or not a tar file");
  }

  private async readEntries(dest: ImageDestination, signal?: AbortSignal): Promise<void> {
    if (!isRandomAccess(this.input)) return this.readStream(this.input, dest, signal);
    const input = abortable(this.input, signal);
    const magic = new Uint8Array(2);
    await readFully(input, magic, 0);
    // A gzipped archive can only be read front to back.
    return isGzip(magic) ? this.readStream(rangeChunks(input, 0, input.size), dest, signal) : this.readIndexed(input, dest, signal);
  }

  /** Is an entry of this name and size kept in memory (JSON and small files) rather than sent on? */
  /**
   * Whether an entry is kept in memory: small ones and JSON. index.json and manifest.json
   * over MAX_JSON are refused: their size comes from a tar header, which a hostile archive
   * sets to what it likes (a 1 KB pipe could ask for gigabytes).
   */
  private static inMemory(name: string, size: number): boolean {
    if ((name === "index.json" || name === "manifest.json") && size > MAX_JSON) throw bad(`${name} is ${size} bytes; an archive's ${name} is read only up to ${MAX_JSON} bytes`, "the archive is corrupt or not an image archive");
    return size <= SMALL || (name.endsWith(".json") && size <= MAX_JSON);
  }

  /** Record a link entry; true when the entry was one. */
  private addLink(name: string, type: string, linkname: string | null | undefined): boolean {
    if (type !== "symlink" && type !== "link") return false;
    const base = type === "symlink" ? name.split("/").slice(0, -1).join("/") : "";
    this.entries.set(name, { kind: "link", target: normalizeEntryName(`${base}/${linkname ?? ""}`) });
    return true;
  }

  /**
   * An uncompressed archive in a file: index its headers, then read each entry from its
   * range, up to PARALLEL_PUTS large ones at once. The first failure stops the others, and
   * nothing returns before every put has settled (so the caller may abort the destination).
   */
  private async readIndexed(input: RandomAccessInput, dest: ImageDestination, signal?: AbortSignal): Promise<void> {
    const index = await indexTar(input).catch(rethrowUnreadable);
    const ranges = index.filter((e) => e.type === "file" && !ArchiveSource.inMemory(normalizeEntryName(e.name), e.size)).map((e) => e.size);
    if (ranges.length && dest.putBlobRange) dest.expectRanges?.(input, ranges);
    const failed = new AbortController();
    const putSignal = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
    // Puts read through this input, not `input`: a gzip entry or a range the store copies on
    // this thread would otherwise run to its end after another put has failed.
    const putInput = abortable(input, putSignal);
    // Puts in flight; the next starts when any of them ends (copies of equal size on two
    // loaded cores often end in the other order, and a wait for the oldest idled a worker).
    const running = new Set<Promise<void>>();
    // Of entries with one name the last in the archive wins, whichever copy ends first.
    const latest = new Map<string, TarIndexEntry>();
    try {
      for (const e of index) {
        putSignal.throwIfAborted();
        const name = normalizeEntryName(e.name);
        const link = this.addLink(name, e.type, e.linkname);
        if (link || e.type === "file") latest.set(name, e);
        if (link || e.type !== "file") continue;
        if (ArchiveSource.inMemory(name, e.size)) {
          this.entries.set(name, { kind: "mem", bytes: await readExactly(input, e.size, e.offset, name).catch(rethrowUnreadable) });
          continue;
        }
        if (running.size >= PARALLEL_PUTS) {
          await Promise.race(running);
          putSignal.throwIfAborted();
        }
        const put = this.rangeEntry(name, putInput, e, dest, putSignal).then(
          (entry) => void (latest.get(name) === e && this.entries.set(name, entry)),
          (err: unknown) => {
            failed.abort(err);
            throw err;
          },
        );
        const forget = () => void running.delete(put);
        put.then(forget, forget); // a failure also aborts putSignal, checked after each wait
        running.add(put);
      }
      await Promise.all(running);
      putSignal.throwIfAborted();
    } catch (err) {
      failed.abort(err); // a no-op when a put failed first: its error is the one reported
      await Promise.allSettled(running);
      throw signal?.aborted ? err : failed.signal.reason;
    }
  }

  /** Send a large entry of a file to the destination as a range (a compressed one is streamed through its decompressor). */
  private async rangeEntry(name: string, input: RandomAccessInput, e: TarIndexEntry, dest: ImageDestination, signal: AbortSignal): Promise<Entry> {
    const magic = new Uint8Array(Math.min(4, e.size));
    await readFully(input, magic, e.offset);
    if (layerDecompressor(magic, this.deps) || !dest.putBlobRange) return this.streamEntry(name, e.size, magic, rangeChunks(input, e.offset, e.size), dest);
    const named = digestFromPath(name);
    const stored = await dest.putBlobRange(input, e.offset, e.size, { label: `blob ${name} in the archive`, size: e.size, ...(named ? { digest: named } : {}) }, signal);
    return { kind: "put", raw: stored, stored, compressed: false };
  }

  /**
   * A stream (gzipped or not), read front to back by TarPushParser: small entries are
   * copied into memory, a large one is pushed on to the destination as it arrives (from a
   * pipe read into one reused buffer, without a copy here).
   */
  private async readStream(input: AsyncIterable<Uint8Array> | PushedBytes, dest: ImageDestination, signal?: AbortSignal): Promise<void> {
    let sending: { relay: PieceRelay; put: Promise<unknown> } | undefined;
    const parser = new TarPushParser((e) => {
      const name = normalizeEntryName(e.name);
      if (this.addLink(name, e.type, e.linkname) || e.type !== "file") return undefined;
      if (ArchiveSource.inMemory(name, e.size)) return this.memoryEntry(name, e.size);
      const relay = new PieceRelay();
      sending = { relay, put: Promise.resolve() };
      const s = sending;
      return {
        // Its first bytes say whether it is a gzip or zstd layer (the most any magic needs).
        piece: sniffing(4, (head) => {
          s.put = this.streamEntry(name, e.size, head, relay, dest).then((entry) => void this.entries.set(name, entry));
          // A destination that fails stops the archive's reading too.
          s.put.catch((err: unknown) => relay.fail(err));
          return (piece) => relay.push(piece);
        }),
        end: async () => {
          relay.end();
          await s.put;
          sending = undefined;
        },
      };
    });
    const toTar = (piece: Uint8Array) => {
      // Checked per piece, not per entry: an interrupt stops a large layer mid-way.
      signal?.throwIfAborted();
      return parser.write(piece);
    };
    const gzipped = new PieceRelay();
    let gunzipping: Promise<void> | undefined;
    const first = sniffing(2, (head) => {
      if (!isGzip(head)) return toTar;
      gunzipping = eachPiece(this.deps.gunzip(gzipped), toTar);
      gunzipping.catch((err: unknown) => gzipped.fail(err));
      return (piece) => gzipped.push(piece);
    });
    try {
      await eachPiece(input, first);
      await first.flush();
      gzipped.end();
      await gunzipping;
      parser.end();
    } catch (e) {
      gzipped.fail(e);
      await gunzipping?.catch(() => undefined);
      // Nothing returns before the entry being sent has settled (its temporary file removed).
      if (sending) {
        sending.relay.fail(e);
        await sending.put.catch(() => undefined);
      }
      if (e instanceof TbuildError || signal?.aborted) throw e;
      throw e instanceof TarIndexError ? unreadable(normalizeEntryName(e.entry), e.message) : unreadable(normalizeEntryName(parser.at), e instanceof Error ? e.message : String(e));
    }
  }

  /** A small entry's body, copied into memory. */
  private memoryEntry(name: string, size: number): TarBodySink {
    const bytes = new Uint8Array(size);
    let at = 0;
    return {
      piece: (piece) => {
        bytes.set(piece, at);
        at += piece.length;
      },
      end: () => void this.entries.set(name, { kind: "mem", bytes }),
    };
  }

  /**
   * Send a large entry to the destination, decompressing a gzip or zstd layer (told by
   * `head`, its first bytes) and hashing its raw bytes.
   */
  private async streamEntry(name: string, size: number, head: Uint8Array, body: AsyncIterable<Uint8Array> | PieceRelay, dest: ImageDestination): Promise<Entry> {
    const named = digestFromPath(name);
    const label = `blob ${name} in the archive`;
    const decompress = layerDecompressor(head, this.deps);
    if (!decompress) {
      const stored = await dest.putBlob(body, { label, size, ...(named ? { digest: named } : {}) });
      return { kind: "put", raw: stored, stored, compressed: false };
    }
    const h = this.deps.createHash();
    let rawSize = 0;
    let sourceFailed = false;
    // Read by hand, not by for-await: the decompressor's early return must not close `body`,
    // whose rest (bytes after the compressed stream) is read to its end below.
    const it = body[Symbol.asyncIterator]();
    const next = async () => {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await it.next();
      } catch (e) {
        sourceFailed = true; // the archive itself broke off: the caller says where
        throw e;
      }
      if (!r.done) {
        h.update(r.value);
        rawSize += r.value.length;
      }
      return r;
    };
    async function* raw(): AsyncGenerator<Uint8Array> {
      for (let r = await next(); !r.done; r = await next()) yield r.value;
    }
    const stored = await dest.putBlob(decompress.stream(raw()), { label: `${label} (uncompressed)` }).catch((e: unknown) => {
      // A relay's producer waiting on a piece `body`'s reader holds is released when the
      // caller fails the relay with this error (PieceRelay.fail), which is then the one told.
      throw sourceFailed ? e : notDecompressed(label, decompress, e);
    });
    while (!(await next()).done);
    const rawInfo = { digest: h.digest(), size: rawSize };
    if (named && rawInfo.digest !== named) throw bad(`${label}: digest mismatch: expected ${named}, got ${rawInfo.digest}`, "the archive was modified or is corrupt; nothing was stored");
    return { kind: "put", raw: rawInfo, stored, compressed: true };
  }

  private lookup(path: string, what: string): Entry {
    let p = normalizeEntryName(path);
    for (let hops = 0; hops < 16; hops++) {
      const e = this.entries.get(p);
      if (!e) throw bad(`the archive lacks ${p} (${what})`, "the archive is incomplete");
      if (e.kind !== "link") return e;
      p = e.target;
    }
    throw bad(`too many links resolving ${path}`);
  }

  private bytesOf(path: string, what: string, expect?: Descriptor | Digest): Uint8Array {
    const e = this.lookup(path, what);
    if (e.kind !== "mem") throw bad(`${path} (${what}) is too large`);
    const want = typeof expect === "string" ? expect : expect?.digest ?? digestFromPath(normalizeEntryName(path));
    if (want !== undefined) {
      const got = hashBytes(this.deps, e.bytes);
      if (got !== want) throw bad(`${what} ${path}: digest mismatch: expected ${want}, got ${got}`, "the archive was modified or is corrupt; nothing was stored");
    }
    if (typeof expect === "object" && expect.size !== e.bytes.length) throw bad(`${what} ${path}: size mismatch: expected ${expect.size}, got ${e.bytes.length}`);
    return e.bytes;
  }

  /** Make sure a layer is in the destination and its uncompressed digest is `diffId`. */
  private async layer(path: string, diffId: Digest, what: string, dest: ImageDestination, desc?: Descriptor): Promise<TransferLayer> {
    const e = this.lookup(path, what);
    const label = `${what} (${normalizeEntryName(path)})`;
    if (e.kind === "put") {
      if (desc && (e.raw.digest !== desc.digest || e.raw.size !== desc.size)) throw bad(`${label}: digest mismatch: the manifest says ${desc.digest} (${desc.size} bytes), the blob is ${e.raw.digest} (${e.raw.size} bytes)`);
      if (e.stored.digest !== diffId) throw bad(`${label}: content digest ${e.stored.digest} does not match the config's diff ID ${diffId}`, "the archive was modified or is corrupt; nothing was stored");
      return { diffId, size: e.stored.size };
    }
    if (e.kind !== "mem") throw bad(`${label} is not a file`);
    const rawDigest = hashBytes(this.deps, e.bytes);
    const want = desc?.digest ?? digestFromPath(normalizeEntryName(path));
    if (want !== undefined && rawDigest !== want) throw bad(`${label}: digest mismatch: expected ${want}, got ${rawDigest}`, "the archive was modified or is corrupt; nothing was stored");
    const decompress = layerDecompressor(e.bytes, this.deps);
    const plain = decompress ? await collect(decompress.stream(once(e.bytes))).catch((err: unknown) => { throw notDecompressed(label, decompress, err); }) : e.bytes;
    const stored = await dest.putBlob(once(plain), { digest: diffId, label: `${label}: content vs the config's diff ID` });
    return { diffId, size: stored.size };
  }

  private configOf(bytes: Uint8Array, what: string): ImageConfig {
    return parseConfig(bytes, what, "E_ARCHIVE_INVALID");
  }

  private async dockerImages(dest: ImageDestination): Promise<TransferImage[]> {
    const list = decodeJson(this.bytesOf("manifest.json", "docker-archive manifest"), "manifest.json");
    if (!Array.isArray(list) || list.length === 0) throw bad("manifest.json lists no images");
    const out: TransferImage[] = [];
    for (const [n, raw] of (list as DockerArchiveManifestEntry[]).entries()) {
      if (typeof raw?.Config !== "string" || !Array.isArray(raw.Layers)) throw bad(`manifest.json entry ${n} lacks Config or Layers`);
      const configBytes = this.bytesOf(raw.Config, `config of image ${n + 1}`);
      const configDigest = hashBytes(this.deps, configBytes);
      const config = this.configOf(configBytes, `config ${raw.Config}`);
      const diffIds = config.rootfs.diff_ids;
      if (diffIds.length !== raw.Layers.length) throw bad(`image ${n + 1}: manifest.json lists ${raw.Layers.length} layers but its config has ${diffIds.length} diff IDs`);
      const layers: TransferLayer[] = [];
      for (const [i, p] of raw.Layers.entries()) layers.push(await this.layer(p, diffIds[i]!, `layer ${i + 1} of image ${n + 1}`, dest));
      const tags = (raw.RepoTags ?? []).map((t) => formatReference(parseReference(t)));
      const img: TransferImage = { configDigest, configBytes, config, layers, tags };
      await dest.putImage(img);
      out.push(img);
    }
    return out;
  }

  private blobBytes(d: Descriptor, what: string): Uint8Array {
    if (!isDigest(d.digest)) throw bad(`${what} has an invalid digest ${d.digest}`);
    return this.bytesOf(`blobs/sha256/${d.digest.slice(7)}`, what, d);
  }

  private async ociImages(dest: ImageDestination): Promise<TransferImage[]> {
    const index = parseIndex(this.bytesOf("index.json", "OCI index"), "index.json");
    const out: TransferImage[] = [];
    const seen = new Map<Digest, TransferImage>();
    for (const top of index.manifests) {
      const tags = this.ociTags(top);
      let d = top;
      if (isIndexType(d.mediaType)) d = this.pickPlatform(parseIndex(this.blobBytes(d, "image index"), `index ${d.digest}`), d.digest);
      if (!isManifestType(d.mediaType)) continue;
      const prev = seen.get(d.digest);
      if (prev) {
        (prev.tags as string[]).push(...tags.filter((t) => !prev.tags.includes(t)));
        continue;
      }
      const manifest = parseManifest(this.blobBytes(d, "manifest"), `manifest ${d.digest}`);
      const configBytes = this.blobBytes(manifest.config, `config of manifest ${d.digest}`);
      const config = this.configOf(configBytes, `config ${manifest.config.digest}`);
      const diffIds = config.rootfs.diff_ids;
      if (diffIds.length !== manifest.layers.length) throw bad(`manifest ${d.digest} has ${manifest.layers.length} layers but its config has ${diffIds.length} diff IDs`);
      const layers: TransferLayer[] = [];
      for (const [i, l] of manifest.layers.entries()) {
        layers.push(await this.layer(`blobs/sha256/${l.digest.slice(7)}`, diffIds[i]!, `layer ${i + 1} of manifest ${d.digest}`, dest, l));
      }
      const img: TransferImage = { configDigest: manifest.config.digest, configBytes, config, layers, tags: [...tags] };
      seen.set(d.digest, img);
      out.push(img);
    }
    for (const img of out) await dest.putImage(img);
    if (!out.length) throw bad("index.json lists no image manifests");
    return out;
  }

  private pickPlatform(idx: { manifests: readonly Descriptor[] }, digest: Digest): Descriptor {
    const want = this.opts.platform;
    const ms = idx.manifests.filter((m) => isManifestType(m.mediaType));
    const hit = (want && ms.find((m) => m.platform?.os === want.os && m.platform?.architecture === want.architecture)) ?? ms.find((m) => !m.platform || m.platform.os === "linux") ?? ms[0];
    if (!hit) throw bad(`index ${digest} has no image manifest`);
    return hit;
  }

  /** Names from an index entry: containerd's full name, or a ref.name that is a full reference. */
  private ociTags(d: Descriptor): string[] {
    const full = d.annotations?.[Annotation.CONTAINERD_IMAGE_NAME];
    const ref = d.annotations?.[Annotation.REF_NAME];
    for (const cand of [full, ref]) {
      if (cand === undefined || (cand === ref && !/[:/]/.test(cand))) continue; // a bare tag names no repository
      try {
        const r = parseReference(cand);
        if (r.digest === undefined) return [formatReference(r)];
      } catch {
        // not a reference
      }
    }
    return [];
  }
}
