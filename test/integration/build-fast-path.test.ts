// The no-change fast path (src/build/fast-path.ts), in process against a real store: a
// rebuild with nothing changed is replayed with the progress of a fully cached build, and
// every input change (a byte, a mode bit, a new or removed file, .dockerignore, a build
// arg, the Dockerfile, a deleted cache blob or record, a removed tag, a retagged base)
// makes the build do the real work. Never used with --no-cache, --pull or --dry-run.
import { chmodSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildImage, type BuildEvent, type BuildOptions, type BuildResult } from "../../src/build/index.js";
import { Store } from "../../src/store/index.js";
import type { Digest } from "../../src/util/index.js";
import { makeStore } from "../helpers/fixtures.js";
import { runCli } from "../helpers/cli.js";

/** The racy window these tests use: files must be this old before a build is recorded. */
const WINDOW_MS = 100;
const settle = () => new Promise((r) => setTimeout(r, WINDOW_MS + 50));

const DOCKERFILE = `FROM scratch AS files
COPY src/ /src/

FROM busybox:test
ARG DEST=/app
COPY --from=files /src \${DEST}/
COPY top.txt \${DEST}/
CMD ["cat", "/app/top.txt"]
`;

let work: string;
let root: string;
let dir: string;

beforeAll(async () => {
  ({ work, root } = await makeStore("tbuild-fast-", { SOURCE_DATE_EPOCH: "0" }));
  dir = join(work, "ctx");
  mkdirSync(join(dir, "src", "sub"), { recursive: true });
  writeFileSync(join(dir, "Dockerfile"), DOCKERFILE);
  writeFileSync(join(dir, ".dockerignore"), ".dockerignore\nignored.txt\n");
  writeFileSync(join(dir, "ignored.txt"), "not sent\n");
  writeFileSync(join(dir, "top.txt"), "top\n");
  writeFileSync(join(dir, "src", "a.txt"), "aaaa\n");
  writeFileSync(join(dir, "src", "sub", "b.txt"), "bbbb\n");
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Built extends BuildResult {
  readonly events: BuildEvent[];
}

async function build(o: Partial<BuildOptions> = {}): Promise<Built> {
  const events: BuildEvent[] = [];
  const r = await buildImage({
    root,
    contextDir: dir,
    dockerfile: join(dir, "Dockerfile"),
    displayName: "Dockerfile",
    tags: ["app:1", "app:2"],
    buildArgs: [],
    environ: {},
    progress: (e) => events.push(e),
    signal: new AbortController().signal,
    fastPath: { version: "test", racyWindowMs: WINDOW_MS },
    ...o,
  });
  return { ...r, events };
}

/** A build that the fast path replays, after the previous one recorded the current state. */
async function expectReplayed(o: Partial<BuildOptions> = {}): Promise<Built> {
  const r = await build(o);
  expect(r.replayed).toBe(true);
  return r;
}

/** After a change: the real work, which records the new state, then a replay of it. */
async function expectRealWork(o: Partial<BuildOptions> = {}): Promise<Built> {
  const r = await build(o);
  expect(r.replayed).toBeFalsy();
  expect(r.plan).toBeDefined();
  await expectReplayed(o);
  return r;
}

/** Events without times, as the renderers compare them. */
const shape = (events: readonly BuildEvent[]) => events.map((e) => JSON.stringify({ ...e, time: 0, ...("durationMs" in e ? { durationMs: 0 } : {}) }));

describe("the no-change fast path", () => {
  it("never records a build that saw an entry changed within the racy window (2 s)", async () => {
    writeFileSync(join(dir, "top.txt"), "top\n");
    const first = await build({ fastPath: { version: "test" } });
    expect(first.replayed).toBeFalsy();
    // top.txt was written just now: this rebuild is cached but must not be replayed.
    const second = await build({ fastPath: { version: "test" } });
    expect(second.replayed).toBeFalsy();
    expect(second.cachedSteps).toBe(second.totalSteps);
    expect(second.imageId).toBe(first.imageId);
  });

  it("replays an unchanged build with the progress a cached build shows, and the same image", async () => {
    await settle();
    const real = await build();
    expect(real.replayed).toBeFalsy();
    expect(real.cachedSteps).toBe(3);
    const again = await expectReplayed();
    expect(again.imageId).toBe(real.imageId);
    expect(again.manifestDigest).toBe(real.manifestDigest);
    expect(again.tags).toEqual(real.tags);
    expect([again.cachedSteps, again.totalSteps]).toEqual([3, 3]);
    // Same events; concurrent stages may interleave differently, so compare as sets too.
    expect(shape(again.events).sort()).toEqual(shape(real.events).sort());
    expect(again.events.filter((e) => e.type === "step-cached")).toHaveLength(3);
    expect(again.events[0]!.type).toBe("plan");
    expect(again.events.at(-1)!.type).toBe("done");
  });

  it("ignores a change to an excluded file, which the build never sees", async () => {
    writeFileSync(join(dir, "ignored.txt"), "still not sent, and longer\n");
    await expectReplayed();
  });

  it("does the real work after one byte changed, even with size and mtime kept", async () => {
    const f = join(dir, "src", "a.txt");
    // A whole-second mtime, so that putting it back restores every stat field but ctime.
    utimesSync(f, 1_700_000_000, 1_700_000_000);
    await settle();
    const before = await build();
    await expectReplayed();
    const st = statSync(f, { bigint: true });
    writeFileSync(f, "aaab\n");
    utimesSync(f, 1_700_000_000, 1_700_000_000);
    const now = statSync(f, { bigint: true });
    expect([now.ino, now.size, now.mtimeNs, now.mode]).toEqual([st.ino, st.size, st.mtimeNs, st.mode]);
    await settle();
    const r = await expectRealWork();
    expect(r.imageId).not.toBe(before.imageId);
    expect(r.cachedSteps).toBeLessThan(r.totalSteps);
  });

  it("does the real work after a mode bit, a new file or a removed file", async () => {
    chmodSync(join(dir, "top.txt"), 0o600);
    await settle();
    expect((await expectRealWork()).cachedSteps).toBe(2);
    writeFileSync(join(dir, "src", "new.txt"), "new\n");
    await settle();
    expect((await expectRealWork()).cachedSteps).toBe(0);
    rmSync(join(dir, "src", "new.txt"));
    await settle();
    // Back to a state the cache knows: every step is cached, but it had to be looked up.
    expect((await expectRealWork()).cachedSteps).toBe(3);
  });

  it("does the real work after .dockerignore changed, though it excludes itself", async () => {
    writeFileSync(join(dir, ".dockerignore"), ".dockerignore\nignored.txt\nsrc/sub\n");
    await settle();
    expect((await expectRealWork()).cachedSteps).toBe(0);
    writeFileSync(join(dir, ".dockerignore"), ".dockerignore\nignored.txt\n");
    await settle();
    await expectRealWork();
  });

  it("does the real work after a build arg (also one taken from the environment), the Dockerfile, a label or SOURCE_DATE_EPOCH changed", async () => {
    const base = await expectReplayed();
    expect((await expectRealWork({ buildArgs: ["DEST=/opt"] })).imageId).not.toBe(base.imageId);
    await expectRealWork({ buildArgs: ["DEST"], environ: { DEST: "/srv" } });
    const srv = await expectReplayed({ buildArgs: ["DEST"], environ: { DEST: "/srv" } });
    expect((await expectRealWork({ buildArgs: ["DEST"], environ: { DEST: "/usr" } })).imageId).not.toBe(srv.imageId);
    await expectRealWork({ labels: { a: "b" } });
    await expectRealWork({ sourceDateEpoch: 0 });
    writeFileSync(join(dir, "Dockerfile"), DOCKERFILE.replace('CMD ["cat"', 'CMD ["head"'));
    await settle();
    await expectRealWork();
    writeFileSync(join(dir, "Dockerfile"), DOCKERFILE);
    await settle();
    expect((await expectRealWork()).imageId).toBe(base.imageId);
  });

  it("does the real work when a layer blob, a cache record or a tag is gone, or the base image moved", async () => {
    const store = await Store.open(root);
    const last = await expectReplayed();
    const topLayer = readLayers(store, last.manifestDigest!).at(-1)!;
    rmSync(store.blobPath(topLayer));
    const rebuilt = await expectRealWork();
    expect(rebuilt.cachedSteps).toBe(2);
    rmSync(join(store.dataDir, "cache"), { recursive: true });
    expect((await expectRealWork()).cachedSteps).toBe(0);
    await store.remove("app:2");
    const retagged = await expectRealWork();
    expect((await store.resolve("app:2")).id).toBe(retagged.imageId);
    await store.tag("app:1", "busybox:test");
    const moved = await build();
    expect(moved.replayed).toBeFalsy();
    expect(moved.imageId).not.toBe(retagged.imageId);
  });

  it("is never used with --no-cache or --dry-run, and a rebuild after --no-cache uses its new records", async () => {
    await expectReplayed();
    const noCache = await build({ noCache: true });
    expect(noCache.replayed).toBeFalsy();
    expect(noCache.cachedSteps).toBe(0);
    // --no-cache replaced the cache records (new layer times): a replay would give the old image.
    const after = await build();
    expect(after.replayed).toBeFalsy();
    expect(after.imageId).toBe(noCache.imageId);
    const dry = await build({ dryRun: true });
    expect(dry.replayed).toBeFalsy();
    expect(dry.dryRun).toBeDefined();
    await expectReplayed();
  });
});

describe("the no-change fast path and inputs it cannot see", () => {
  it("never records a build that ADDs a URL, and is never used with secrets", async () => {
    const server = createServer((_req, res) => res.end("remote\n"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const port = (server.address() as AddressInfo).port;
      const ctx = join(work, "url-ctx");
      mkdirSync(ctx, { recursive: true });
      writeFileSync(join(ctx, "Dockerfile"), `FROM scratch\nADD http://127.0.0.1:${port}/file /file\n`);
      await settle();
      const urlBuild = (o: Partial<BuildOptions> = {}) => build({ contextDir: ctx, dockerfile: join(ctx, "Dockerfile"), tags: ["url:1"], ...o });
      await urlBuild();
      expect((await urlBuild()).replayed).toBeFalsy();
      expect(readdirSync(join(root, "tbuild", "fast-path")).map((f) => readFileSync(join(root, "tbuild", "fast-path", f), "utf8")).join("")).not.toContain("url:1");
    } finally {
      server.close();
    }
    await build();
    await expectReplayed();
    expect((await build({ secrets: [{ id: "s", value: Buffer.from("x") }] })).replayed).toBeFalsy();
  });
});

describe("the no-change fast path through the CLI", () => {
  it("prints exactly what a cached build prints, in plain and JSON progress", async () => {
    const ctx = join(work, "cli-ctx");
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, "Dockerfile"), "FROM scratch\nCOPY . /app/\nCMD [\"/app/run\"]\n");
    writeFileSync(join(ctx, "run"), "#!/bin/sh\n");
    const cliRoot = join(work, "cli-store");
    // Older than the real racy window (2 s), so the first build is recorded.
    await new Promise((r) => setTimeout(r, 2100));
    const tb = async (progress: string) => {
      const r = await runCli(["build", "--root", cliRoot, "--progress", progress, "-t", "app", ctx]);
      expect(r.code, r.err).toBe(0);
      return r.err.replace(/\d+\.\d+s/g, "Ns").replace(/"(time|durationMs)":\d+/g, '"$1":0');
    };
    await tb("plain");
    const records = join(cliRoot, "tbuild", "fast-path");
    expect(readdirSync(records)).toHaveLength(1);
    const replayed = { plain: await tb("plain"), json: await tb("json") };
    rmSync(records, { recursive: true });
    const real = { plain: await tb("plain"), json: await tb("json") };
    expect(replayed).toEqual(real);
    expect(real.plain).toContain("CACHED");
  });
});

function readLayers(store: Store, manifest: Digest): Digest[] {
  const m = JSON.parse(readFileSync(store.blobPath(manifest), "utf8")) as { layers: { digest: Digest }[] };
  return m.layers.map((l) => l.digest);
}
