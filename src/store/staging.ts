// The store as a transport destination (containers/image's oci_dest): blobs are staged in
// a private folder under tbuild/tmp and become visible only at commit, which moves them
// into blobs/ and rewrites index.json under the lock. Abort (or a kill) leaves the store
// exactly as it was; a killed process's staging folder is removed by the next gc.
import { promises as fsp } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { TbuildError, type Digest } from "../util/index.js";
import { eachPiece, rangeChunks, type BlobExpectation, type PushedBytes, type BlobInfo, type ImageDestination, type RandomAccessInput, type TransferImage } from "../image/index.js";
import { RANGE_WORKER_MIN, copyRangeInWorker, checkBlob, copyRangeToTemp, warmRangeWorkers, writeTemp } from "./blobs.js";
import { tempName, type WriteTempOptions, type WrittenTemp } from "./temp-file.js";
import type { PendingImage, PutImageResult, Store } from "./store.js";

export class StoreDestination implements ImageDestination {
  readonly wantsCompressedLayers = false;
  private readonly dir: string;
  private readonly staged = new Map<Digest, string>();
  /** Background fsyncs of staged files (and of duplicates being dropped), awaited at commit and abort. */
  private readonly syncing: Promise<void>[] = [];
  private readonly images: TransferImage[] = [];
  private made = false;
  /** Set by commit. */
  results: PutImageResult[] = [];
  /** Set by commit: how long it waited for the staged blobs' fsyncs, then for the index update. */
  timings: { syncWaitMs: number; commitMs: number } = { syncWaitMs: 0, commitMs: 0 };

  constructor(private readonly store: Store) {
    this.dir = join(store.paths.tmp, tempName("stage-"));
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    return this.staged.has(digest) || this.store.hasBlob(digest);
  }

  /** Stage a blob (unsynced until commit). `opts.mismatch` builds the error for bytes that differ from `expect`. */
  async putBlob(data: AsyncIterable<Uint8Array> | PushedBytes, expect: BlobExpectation = {}, opts: Pick<WriteTempOptions, "mismatch" | "hashInProcess"> = {}): Promise<BlobInfo> {
    if (expect.digest !== undefined && (await this.store.hasBlob(expect.digest))) {
      // Already stored: verify the bytes without writing them again.
      const h = createHash("sha256");
      let size = 0;
      await eachPiece(data, (c) => {
        h.update(c);
        size += c.length;
      });
      const got = { digest: `sha256:${h.digest("hex")}` as Digest, size };
      checkBlob(expect, got, opts);
      return got;
    }
    return this.stage(writeTemp(await this.stagingDir(), data, expect, { ...opts, sync: "background" }));
  }

  /**
   * Stage a blob that `write` puts into a new file in the staging folder itself (a download
   * on a worker thread, which hashes and fsyncs it there). The file is verified against
   * `expect` here and removed when it differs; `write` MUST leave no file when it fails.
   */
  async adoptBlob(write: (dir: string) => Promise<WrittenTemp>, expect: BlobExpectation, opts: Pick<WriteTempOptions, "mismatch"> = {}): Promise<BlobInfo> {
    const t = await write(await this.stagingDir());
    try {
      checkBlob(expect, t, opts);
    } catch (e) {
      await fsp.rm(t.path, { force: true });
      throw e;
    }
    return this.stage(Promise.resolve(t));
  }

  /**
   * Stage a file range (an uncompressed archive's layer); as putBlob otherwise. A large
   * range of an open file is copied and hashed on a worker thread (fsynced from here, in
   * the background), so two layers in flight use both cores; a smaller one is copied here
   * with reused buffers.
   */
  async putBlobRange(input: RandomAccessInput, offset: number, size: number, expect: BlobExpectation = {}, signal?: AbortSignal): Promise<BlobInfo> {
    if (expect.digest !== undefined && (await this.store.hasBlob(expect.digest))) return this.putBlob(rangeChunks(input, offset, size), expect);
    const dir = await this.stagingDir();
    if (input.fd !== undefined && size >= RANGE_WORKER_MIN) return this.stage(copyRangeInWorker(dir, input.fd, offset, size, expect, { sync: "background", ...(signal ? { signal } : {}) }));
    return this.stage(copyRangeToTemp(dir, input, offset, size, expect, { sync: "background" }));
  }

  /** Boot the range-copy workers while the first range is read, when putBlobRange will use them. */
  expectRanges(input: RandomAccessInput, sizes: readonly number[]): void {
    if (input.fd !== undefined) warmRangeWorkers(Math.max(...sizes));
  }

  private async stagingDir(): Promise<string> {
    if (!this.made) {
      await fsp.mkdir(this.dir, { recursive: true });
      this.made = true;
    }
    return this.dir;
  }

  /**
   * Keep a written temp file as the staged copy of its digest (a second copy is dropped).
   * Each blob's fsync runs in the background while the next blob streams in; commit waits for all.
   */
  private async stage(writing: Promise<WrittenTemp>): Promise<BlobInfo> {
    const t = await writing;
    const prev = this.staged.get(t.digest);
    if (prev !== undefined) {
      await t.synced?.catch(() => undefined);
      await fsp.rm(t.path, { force: true });
    } else {
      this.staged.set(t.digest, t.path);
      if (t.synced) this.syncing.push(t.synced);
    }
    return { digest: t.digest, size: t.size };
  }

  async putImage(image: TransferImage): Promise<void> {
    for (const l of image.layers) {
      if (!(await this.hasBlob(l.diffId))) throw new TbuildError("E_ARCHIVE_INVALID", `layer ${l.diffId} was never received`);
    }
    this.images.push(image);
  }

  async commit(): Promise<void> {
    this.results = await this.commitPending(this.images.map((i) => ({ configBytes: i.configBytes, layers: i.layers.map((l) => ({ diffId: l.diffId, size: l.size })), tags: i.tags })));
  }

  /**
   * Wait until every staged blob is fsynced, then write `images` and move the blobs into
   * place under the lock (Store.commitImages). The staging folder is removed either way.
   */
  async commitPending(images: readonly PendingImage[]): Promise<PutImageResult[]> {
    try {
      const t0 = performance.now();
      await Promise.all(this.syncing);
      const t1 = performance.now();
      const results = await this.store.commitImages(images, this.staged);
      this.timings = { syncWaitMs: t1 - t0, commitMs: performance.now() - t1 };
      return results;
    } finally {
      await this.abort();
    }
  }

  async abort(): Promise<void> {
    // A staged file's descriptor stays open until its fsync ends: wait, then remove.
    await Promise.allSettled(this.syncing.splice(0));
    if (this.made) await fsp.rm(this.dir, { recursive: true, force: true });
    this.staged.clear();
  }
}
