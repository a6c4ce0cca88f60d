// The one gunzip (layer-records.ts: zlib on libuv's pool, pieces taken by events) that the
// store's inflate, the registry cache and the archive codecs (nodeArchiveDeps) share.
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildConfig } from "../../../src/image/index.js";
import { ArchiveSource } from "../../../src/image/archive/index.js";
import { Store, StoreDestination, copyImages, gunzip, nodeArchiveDeps } from "../../../src/store/index.js";
import { TbuildError, sha256Digest } from "../../../src/util/index.js";
import { buildTar } from "../../helpers/tar-builder.js";
import { tempDirs } from "../../helpers/temp-dirs.js";

const tmp = tempDirs();

const notGzip = (what: string) => (cause: Error) => new TbuildError("E_REGISTRY_DIGEST", `${what} is not valid gzip (${cause.message})`, { cause });

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** `bytes` in pieces of `size`, counting how many pieces were taken and whether it was closed. */
function source(bytes: Uint8Array, size: number) {
  const seen = { pieces: 0, closed: false };
  const gen = (async function* () {
    try {
      for (let o = 0; o < bytes.length; o += size) {
        seen.pieces++;
        yield bytes.subarray(o, o + size);
      }
    } finally {
      seen.closed = true;
    }
  })();
  return { gen, seen };
}

describe("gunzip", () => {
  it("inflates multi-member gzip fed in small pieces back to the input", async () => {
    const a = Buffer.alloc(3 << 20, "tbuild ");
    const b = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => (i * 7919) & 0xff));
    const gz = Buffer.concat([gzipSync(a), gzipSync(b)]);
    const { gen } = source(gz, 4096);
    const out = await collect(gunzip(gen, notGzip("test layer")));
    expect(out.equals(Buffer.concat([a, b]))).toBe(true);
  });

  it("holds back input while the consumer is behind, and closes the source when it stops early", async () => {
    // 256 MiB of zeros gzip to ~256 KiB: without backpressure the whole input would be
    // read and inflated into memory before the consumer took its first piece.
    const gz = gzipSync(Buffer.alloc(256 << 20));
    const { gen, seen } = source(gz, 1024);
    const it = gunzip(gen, notGzip("test layer"))[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    // Wait until the feeder stops taking input (or has taken it all).
    for (let last = -1, still = 0; still < 4 && seen.pieces * 1024 < gz.length; ) {
      await new Promise((r) => setTimeout(r, 50));
      still = seen.pieces === last ? still + 1 : 0;
      last = seen.pieces;
    }
    expect(seen.pieces * 1024).toBeLessThan(gz.length / 4);
    await it.return(undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.closed).toBe(true);
  });

  it("rejects bytes that are not gzip with the caller's error, or zlib's own without one", async () => {
    const text = Buffer.from("this is not gzip at all, just text");
    const err = await collect(gunzip(source(text, 8).gen, notGzip("layer sha256:abc"))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TbuildError);
    expect((err as TbuildError).code).toBe("E_REGISTRY_DIGEST");
    expect((err as TbuildError).message).toMatch(/^layer sha256:abc is not valid gzip/);
    const raw = await collect(gunzip(source(text, 8).gen)).catch((e: unknown) => e);
    expect(raw).not.toBeInstanceOf(TbuildError);
    expect(raw).toMatchObject({ code: "Z_DATA_ERROR" });
  });

  it("passes a source's own error through unchanged", async () => {
    const gz = gzipSync(Buffer.alloc(1 << 20, 1));
    const broken = (async function* () {
      yield gz.subarray(0, 100);
      throw new TbuildError("E_REGISTRY", "download broke off");
    })();
    const err = await collect(gunzip(broken, notGzip("layer"))).catch((e: unknown) => e);
    expect((err as TbuildError).code).toBe("E_REGISTRY");
    expect((err as TbuildError).message).toBe("download broke off");
  });

  it("is the archive codecs' gunzip: a gzipped archive loads, and one cut short is refused as truncated, naming the entry", async () => {
    const layer = Buffer.alloc(2 << 20, "layer ");
    const config = buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: [sha256Digest(layer)] });
    const names = { layer: `blobs/sha256/${sha256Digest(layer).slice(7)}`, config: `blobs/sha256/${config.descriptor.digest.slice(7)}` };
    const manifest = JSON.stringify([{ Config: names.config, RepoTags: ["docker.io/library/gz:1"], Layers: [names.layer] }]);
    const archive = gzipSync(buildTar([{ name: names.layer, content: layer }, { name: names.config, content: Buffer.from(config.bytes) }, { name: "manifest.json", content: manifest }]));
    const s = await Store.open(tmp("unit-gunzip"));
    const load = (bytes: Uint8Array) => copyImages(new ArchiveSource(source(bytes, 64 << 10).gen, nodeArchiveDeps), new StoreDestination(s));
    const cut = await load(archive.subarray(0, archive.length >> 1)).catch((e: unknown) => e);
    expect(cut).toMatchObject({ code: "E_ARCHIVE_INVALID", message: `cannot read the archive at ${names.layer}: it is truncated` });
    await load(archive);
    expect((await s.resolve("gz:1")).id).toBe(config.descriptor.digest);
  });
});
