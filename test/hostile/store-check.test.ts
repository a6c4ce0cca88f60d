// A damaged store (a flipped byte in a blob, a truncated layer, a missing manifest behind a
// tag, a cache record pointing at nothing, garbage in the cache and gzip map, temp files
// and a lock of dead processes): `tbuild store check` names each problem and exits 1;
// `--repair` removes what is broken or orphaned and never drops a tag.
import { mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeStore, startBuild, storeCheck, tb, writeContext } from "../integration/crash-helpers.js";
import { findImage } from "../helpers/oci-reader.js";

let work: string;
let root: string;

beforeEach(async () => {
  ({ work, root } = await makeStore("storecheck"));
  const r = await startBuild(root, writeContext(work, "one"), "one:1").done;
  if (r.code !== 0) throw new Error(r.stderr);
});

afterEach(() => rmSync(work, { recursive: true, force: true }));

const blob = (digest: string) => join(root, "blobs", "sha256", digest.replace(/^sha256:/, ""));
const DEAD_PID = 2 ** 22 + 12345; // above pid_max's default: never a live process

describe("tbuild store check", () => {
  it("a fresh store after a build is clean (exit 0)", () => {
    const r = storeCheck(root);
    expect(r.code).toBe(0);
    expect(r.report.problems).toEqual([]);
    expect(r.report.tags).toBe(2);
    expect(r.report.cacheEntries).toBeGreaterThanOrEqual(4);
  });

  it("a flipped byte in a layer (bit rot): corrupt-blob and broken-image for its tag; repair removes the blob, keeps the tag, still exit 1", () => {
    const img = findImage(root, "docker.io/library/one:1")!;
    const layer = img.layers[img.layers.length - 1]!.digest;
    const p = blob(layer);
    const bytes = readFileSync(p);
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(p, bytes);
    const r = storeCheck(root);
    expect(r.code).toBe(1);
    expect(r.report.problems.map((x) => x.kind).sort()).toEqual(["broken-image", "cache-entry", "corrupt-blob"]);
    const fixed = storeCheck(root, true);
    expect(fixed.code).toBe(1);
    expect(fixed.report.problems.find((x) => x.kind === "corrupt-blob")?.repaired).toBe(true);
    expect(fixed.report.problems.find((x) => x.kind === "broken-image")).toMatchObject({ repaired: false, repairable: false, tags: ["docker.io/library/one:1"] });
    // The tag is still there (reported, never dropped), and the cache records of the layer went.
    expect(readFileSync(join(root, "index.json"), "utf8")).toContain("docker.io/library/one:1");
    expect(fixed.report.problems.filter((x) => x.kind === "cache-entry").every((x) => x.repaired)).toBe(true);
  });

  it("a truncated manifest and a missing config: both tags' images reported", () => {
    const img = findImage(root, "docker.io/library/one:1")!;
    const base = findImage(root, "docker.io/library/busybox:test")!;
    truncateSync(blob(img.manifestDigest), 10);
    rmSync(blob(base.configDigest));
    const r = storeCheck(root, true);
    expect(r.code).toBe(1);
    const broken = r.report.problems.filter((x) => x.kind === "broken-image");
    expect(broken.map((b) => b.tags).sort()).toEqual([["docker.io/library/busybox:test"], ["docker.io/library/one:1"]]);
    expect(broken.every((b) => !b.repaired)).toBe(true);
  });

  it("leftovers of killed processes: temp files, a staging folder, a dead lock, a dangling and a garbage cache record, a bad gzip entry, a stray blob file; repair removes them all and exits 0", () => {
    const data = join(root, "tbuild");
    writeFileSync(join(data, "tmp", `blob-${DEAD_PID}-0123abcd`), "half a blob");
    mkdirSync(join(data, "tmp", `stage-${DEAD_PID}-89abcdef`));
    writeFileSync(join(data, "tmp", `stage-${DEAD_PID}-89abcdef`, "blob"), "x");
    writeFileSync(join(data, "lock"), JSON.stringify({ pid: DEAD_PID, host: hostname(), nonce: "dead", at: "2020-01-01T00:00:00Z" }));
    const cache = join(data, "cache", "v1", "ab");
    mkdirSync(cache, { recursive: true });
    const key = "ab".padEnd(64, "0");
    writeFileSync(join(cache, `${key}.json`), JSON.stringify({ version: 1, key: `sha256:${key}`, kind: "run", text: "RUN x", layer: { diffId: `sha256:${"f".repeat(64)}`, size: 1 }, created: "", preimage: {} }));
    writeFileSync(join(cache, `${"ab".padEnd(64, "1")}.json`), "{not json");
    mkdirSync(join(data, "gzip"), { recursive: true });
    writeFileSync(join(data, "gzip", "e".repeat(64)), JSON.stringify({ digest: `sha256:${"d".repeat(64)}`, size: 3 }));
    writeFileSync(join(root, "blobs", "sha256", "not-a-digest"), "x");
    const r = storeCheck(root);
    expect(r.code).toBe(1);
    expect(r.report.problems.map((x) => x.kind).sort()).toEqual(["cache-entry", "cache-entry", "gzip-entry", "stale-lock", "stray-blob-file", "temp", "temp"]);
    const fixed = storeCheck(root, true);
    expect(fixed.code).toBe(0);
    expect(fixed.report.problems.every((x) => x.repaired)).toBe(true);
    expect(storeCheck(root)).toMatchObject({ code: 0, report: { problems: [] } });
    expect(readdirSync(join(data, "tmp"))).toEqual([]);
    // Nothing a tag needs was touched: the images still inspect and the next build is all cached.
    expect(tb(root, ["inspect", "one:1"]).code).toBe(0);
  });

  it("a dangling (untagged) image whose manifest is gone is dropped by repair; tagged entries stay", () => {
    const index = JSON.parse(readFileSync(join(root, "index.json"), "utf8")) as { manifests: unknown[] };
    index.manifests.push({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${"c".repeat(64)}`, size: 100 });
    writeFileSync(join(root, "index.json"), JSON.stringify(index));
    expect(storeCheck(root).code).toBe(1);
    const fixed = storeCheck(root, true);
    expect(fixed.code).toBe(0);
    expect(fixed.report.problems).toMatchObject([{ kind: "broken-image", repaired: true }]);
    const after = JSON.parse(readFileSync(join(root, "index.json"), "utf8")) as { manifests: { digest: string }[] };
    expect(after.manifests).toHaveLength(2);
  });

  it("a store that is not there: E_STORE_NOT_FOUND, exit 1, nothing created", () => {
    const missing = join(work, "nope");
    const r = tb(missing, ["store", "check"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("E_STORE_NOT_FOUND");
    expect(readdirSync(work)).not.toContain("nope");
  });
});
