// With workerThreads, big layers (>= 16 MiB) are pulled on worker threads; the main thread
// keeps auth, retries and verification. Against a real docker-registry, with node:http
// fronts that corrupt, expire tokens, fail or stall requests: whatever a worker meets, the
// store keeps nothing unverified, and an interrupted pull ends at once.
import { randomBytes } from "node:crypto";
import { statSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pullImage, pushImage, type TransferEvent } from "../../src/registry/index.js";
import { TbuildError, type Digest } from "../../src/util/index.js";
import { closeFronts, listen, proxy } from "../helpers/http-front.js";
import { startRegistry, type RegistryServer } from "../helpers/registry-server.js";
import { openRealStore, putTarImage, type RealTransferStore } from "../helpers/registry-store.js";
import { buildTar } from "../helpers/tar-builder.js";
import { tempDirs } from "../helpers/temp-dirs.js";

const BIG = 20 * 1024 * 1024;
const fast = { retries: 2, backoffMs: 20, workerThreads: 1 };
const tempDir = tempDirs();
const newStore = () => openRealStore(tempDir("regw-store"));

describe("pulling big layers on worker threads (docker-registry on 127.0.0.1)", () => {
  let reg: RegistryServer;
  beforeAll(async () => {
    reg = await startRegistry();
  });
  afterAll(async () => {
    closeFronts();
    await reg?.stop();
  });

  /** Push an image of a small and a big (random, so its gzip is big too) layer; returns its image ID and the big layer's gzip digest. */
  async function pushBig(repo: string): Promise<{ ref: string; id: Digest; big: Digest; store: RealTransferStore }> {
    const store = await newStore();
    const ref = `${reg.host}/${repo}:v1`;
    const id = await putTarImage(store, ref, [buildTar([{ name: "small", content: "x" }]), buildTar([{ name: "big", content: randomBytes(BIG) }])]);
    const pushed = await pushImage(store, ref, fast);
    return { ref, id, big: pushed.layers[1]!.digest, store };
  }

  /** The GETs of `digest` a front saw, with the status it answered. */
  const blobGets = (log: { url: string; status: number }[], digest: Digest) => log.filter((r) => r.url.endsWith(`/blobs/${digest}`)).map((r) => r.status);

  it("stores the big layer gzip as it came, verified, reporting its bytes once (from the worker, at the end)", async () => {
    const { ref, id, big } = await pushBig("w/plain");
    const b = await newStore();
    const events: TransferEvent[] = [];
    const pulled = await pullImage(b, ref, { ...fast, onEvent: (e) => events.push(e) });
    expect(pulled.imageId).toBe(id);
    expect(pulled.layers[1]).toMatchObject({ digest: big, status: "pulled" });
    expect(await b.hasBlob(big)).toBe(true);
    // The main thread reads a body chunk by chunk and reports each; a worker reports the whole layer once.
    const bytes = events.filter((e) => e.kind === "bytes" && e.digest === big);
    expect(bytes).toEqual([{ kind: "bytes", digest: big, done: expect.any(Number), total: expect.any(Number) }]);
    expect(bytes[0]).toMatchObject({ done: (bytes[0] as { total: number }).total });
    expect(await b.check()).toMatchObject({ temps: [], bad: [] });
  });

  it("by default a pull starts one worker per big missing layer beyond the first, none for a single big layer", async () => {
    const { retries, backoffMs } = fast;
    /** How many progress reports each of `digests` got in a pull into an empty store. */
    const reports = async (ref: string, digests: Digest[]) => {
      const events: TransferEvent[] = [];
      await pullImage(await newStore(), ref, { retries, backoffMs, onEvent: (e) => events.push(e) });
      return digests.map((d) => events.filter((e) => e.kind === "bytes" && e.digest === d).length);
    };
    const one = await pushBig("w/default-one");
    expect((await reports(one.ref, [one.big]))[0]).toBeGreaterThan(1); // read here, chunk by chunk

    const store = await newStore();
    const ref = `${reg.host}/w/default-two:v1`;
    await putTarImage(store, ref, [buildTar([{ name: "a", content: randomBytes(BIG) }]), buildTar([{ name: "b", content: randomBytes(BIG) }])]);
    const [first, second] = (await pushImage(store, ref, fast)).layers.map((l) => l.digest);
    const counts = await reports(ref, [first!, second!]);
    // One layer went to the worker (one report, at the end), the other was read here.
    expect(counts.filter((n) => n === 1)).toHaveLength(1);
    expect(counts.filter((n) => n > 1)).toHaveLength(1);
  });

  it("a big layer the store holds plain (built here) counts as present: one other big layer missing starts no worker", async () => {
    const kept = buildTar([{ name: "kept", content: randomBytes(BIG) }]);
    const store = await newStore();
    const ref = `${reg.host}/w/held-plain:v1`;
    await putTarImage(store, ref, [kept, buildTar([{ name: "new", content: randomBytes(BIG) }])]);
    const [held, missing] = (await pushImage(store, ref, fast)).layers.map((l) => l.digest);
    const b = await newStore();
    await putTarImage(b, "local/built:v1", [kept]);
    const events: TransferEvent[] = [];
    const pulled = await pullImage(b, ref, { retries: fast.retries, backoffMs: fast.backoffMs, onEvent: (e) => events.push(e) });
    expect(pulled.layers.map((l) => l.status)).toEqual(["exists", "pulled"]);
    expect(events.filter((e) => e.kind === "bytes" && e.digest === held)).toEqual([]);
    // Read here, chunk by chunk: a worker (started for a "missing" layer the store has) would have taken it and reported once.
    expect(events.filter((e) => e.kind === "bytes" && e.digest === missing).length).toBeGreaterThan(1);
  });

  it("a big blob corrupted on the registry's disk is rejected (E_REGISTRY_DIGEST) and nothing is stored", async () => {
    const { ref, big } = await pushBig("w/corrupt");
    const path = reg.blobPath(big);
    writeFileSync(path, randomBytes(statSync(path).size)); // same length, wrong bytes
    const b = await newStore();
    const err = await pullImage(b, ref, fast).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TbuildError);
    expect((err as TbuildError).code).toBe("E_REGISTRY_DIGEST");
    expect((err as TbuildError).message).toContain(big);
    expect(await b.check()).toMatchObject({ temps: [], bad: [] });
    expect(await b.index()).toEqual([]);
    expect(await b.hasBlob(big)).toBe(false);
  });

  it("a token that expires mid-pull: the worker's 401 goes back to the main thread, which gets a new token, and the worker's retry succeeds", async () => {
    const { ref, id, big } = await pushBig("w/token");
    let issued = 0;
    let valid = "";
    let expired = false;
    const log: { url: string; status: number }[] = [];
    const front: string = await listen((req, res) => {
      const answer = (status: number, headers: Record<string, string> = {}, body = "") => {
        log.push({ url: req.url!, status });
        res.writeHead(status, headers).end(body);
      };
      if (req.url!.startsWith("/token")) return answer(200, { "content-type": "application/json" }, JSON.stringify({ token: (valid = `t${++issued}`) }));
      const challenge = { "www-authenticate": `Bearer realm="http://${front}/token",service="front"`, "content-type": "application/json" };
      // The first GET of the big blob finds its token expired.
      if (!expired && req.url!.endsWith(`/blobs/${big}`)) {
        expired = true;
        valid = "";
      }
      if (req.headers.authorization !== `Bearer ${valid}` || !valid) return answer(401, challenge, JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "token expired" }] }));
      log.push({ url: req.url!, status: 200 });
      proxy(reg.host, req, res);
    });
    const b = await newStore();
    const pulled = await pullImage(b, ref.replace(reg.host, front), fast);
    expect(pulled.imageId).toBe(id);
    expect(blobGets(log, big)).toEqual([401, 200]);
    expect(issued).toBe(2);
    expect(await b.check()).toMatchObject({ temps: [], bad: [] });
  });

  it("a 503 to a worker's GET is retried after a backoff, as any request", async () => {
    const { ref, id, big } = await pushBig("w/busy");
    const log: { url: string; status: number }[] = [];
    let failed = false;
    const front = await listen((req, res) => {
      if (!failed && req.url!.endsWith(`/blobs/${big}`)) {
        failed = true;
        log.push({ url: req.url!, status: 503 });
        return res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ code: "UNAVAILABLE", message: "busy" }] }));
      }
      log.push({ url: req.url!, status: 200 });
      proxy(reg.host, req, res);
    });
    const b = await newStore();
    expect((await pullImage(b, ref.replace(reg.host, front), fast)).imageId).toBe(id);
    expect(blobGets(log, big)).toEqual([503, 200]);
  });

  it("an interrupted pull ends at once in the middle of a worker's download, leaving the store clean", async () => {
    const { ref, big } = await pushBig("w/stall");
    // The front stalls the big blob after 1 MiB, until the suite ends.
    let stalled: () => void = () => undefined;
    const stalling = new Promise<void>((r) => (stalled = r));
    const front = await listen((req, res) => {
      if (!req.url!.endsWith(`/blobs/${big}`)) return proxy(reg.host, req, res);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(BIG * 2) });
      res.write(randomBytes(1024 * 1024), () => stalled());
    });
    const b = await newStore();
    const stop = new AbortController();
    const pulling = pullImage(b, ref.replace(reg.host, front), { ...fast, signal: stop.signal }).catch((e: unknown) => e);
    await stalling;
    const t0 = Date.now();
    stop.abort(new TbuildError("E_INTERRUPTED", "interrupted by SIGINT"));
    const err = await pulling;
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(err).toBeInstanceOf(TbuildError);
    expect((err as TbuildError).code).toBe("E_INTERRUPTED");
    expect(await b.check()).toMatchObject({ temps: [], bad: [] });
    expect(await b.index()).toEqual([]);
    expect(await b.hasBlob(big)).toBe(false);
  });
});
