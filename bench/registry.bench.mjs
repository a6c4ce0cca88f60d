// Registry benchmark: `tbuild push` and `tbuild pull` of an image with 512 MiB of layers
// (4 × 128 MiB; each layer half random bytes, half repetitive text, so gzip has work to
// do) against Debian's docker-registry on 127.0.0.1, side by side with `skopeo copy` of
// the same image from the same OCI layout, alternating, median of RUNS (the pulls take
// turns going first, so use a RUNS that is a multiple of their number: 6). Every push goes to
// a fresh repository so every byte is sent. Writes bench/results/registry.json.
// The layer data: half random bytes (incompressible: gzip stores them, so that half's gzip
// is as big as its tar) and half one repeated text line (compresses ~300×), so each
// 128 MiB layer gzips to ~64 MiB: 512 MiB of tar, ~270 MB on the wire.
//  - push (cold): tbuild must gzip the layers (its remembered gzip is deleted first), as
//    skopeo must, and sends each layer while gzipping it; push (warm): the store's
//    remembered gzip is reused (what a second push, or a push after --cache-to, costs).
//  - pull: both store the gzip blobs as they came, verified against their compressed
//    digests, with fsync (skopeo's oci: destination; tbuild since it keeps pulled layers
//    compressed and inflates a layer once, on first use, against its diff ID). Seen with
//    strace: skopeo writes its four layers at once through the page cache and fsyncs each
//    layer and the config blob once, at its end, before the rename; it does not fsync the
//    manifest blob, index.json or any directory. tbuild fsyncs those too.
// Each run starts a registry with empty storage, so skopeo's blob-info cache cannot turn a
// push into cross-repository mounts of an earlier run's blobs. Goal: no slower than skopeo.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startRegistry } from "./docker-registry.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = join(here, "..", "dist", "src");
// The CLI users run: package.json's bin (the bundle `npm run build` writes).
const CLI = join(here, "..", JSON.parse(fs.readFileSync(join(here, "..", "package.json"), "utf8")).bin.tbuild);
const { Store } = await import(join(dist, "store", "index.js"));
const { buildConfig } = await import(join(dist, "image", "index.js"));
const tarStream = (await import("tar-stream")).default;

const WORK = process.env.TBUILD_BENCH_DIR ?? join(tmpdir(), "tbuild-bench-registry");
const LAYERS = 4;
const LAYER_SIZE = 128 * 1024 * 1024;
const RUNS = Number(process.env.RUNS ?? 3);
const REF = "docker.io/library/bench:512m";

async function layerTar(i) {
  const pack = tarStream.pack();
  const chunks = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c);
  })();
  const half = (LAYER_SIZE - 8192) / 2;
  const text = Buffer.alloc(half);
  const line = Buffer.from(`layer ${i}: the quick brown fox jumps over the lazy dog ${"0123456789".repeat(3)}\n`);
  for (let o = 0; o < half; o += line.length) line.copy(text, o);
  await new Promise((res, rej) => pack.entry({ name: `layer${i}/random.bin`, size: half, mtime: new Date(0) }, randomBytes(half), (e) => (e ? rej(e) : res())));
  await new Promise((res, rej) => pack.entry({ name: `layer${i}/text.txt`, size: half, mtime: new Date(0) }, text, (e) => (e ? rej(e) : res())));
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

function time(cmd, args, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"], maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return ms;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

fs.rmSync(WORK, { recursive: true, force: true });
const SRC = join(WORK, "store");
const store = await Store.open(SRC);
const layers = [];
for (let i = 0; i < LAYERS; i++) {
  const info = await store.putBlob(await layerTar(i));
  layers.push({ diffId: info.digest, size: info.size });
}
const config = buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: layers.map((l) => l.diffId), history: layers.map((_, i) => ({ created_by: `layer ${i}` })) });
await store.putImage({ config, layers, tags: [REF] });
const total = layers.reduce((n, l) => n + l.size, 0);

/** Forget the remembered gzip of every layer, so the next push compresses again. */
function forgetGzip() {
  for (const l of layers) {
    const map = store.gzipMapPath(l.diffId);
    if (!fs.existsSync(map)) continue;
    const { digest } = JSON.parse(fs.readFileSync(map, "utf8"));
    fs.rmSync(store.blobPath(digest), { force: true });
    fs.rmSync(map, { force: true });
  }
}

let reg;
const loadStart = loadavg();
const env = { HOME: WORK, XDG_CONFIG_HOME: join(WORK, "cfg"), DOCKER_CONFIG: join(WORK, "docker"), TBUILD_ROOT: SRC };
const res = { tbuildPushCold: [], skopeoPush: [], tbuildPushWarm: [], tbuildPull: [], skopeoPull: [], tbuildPullNoExtraCaCerts: [] };
try {
  for (let r = 0; r < RUNS; r++) {
    reg = await startRegistry(join(WORK, "registry"));
    // tbuild pushes a tag of its store: name the image for each target first (not timed).
    await store.tag(REF, `${reg.host}/tb-cold-${r}/bench:512m`);
    await store.tag(REF, `${reg.host}/tb-warm-${r}/bench:512m`);
    forgetGzip();
    res.tbuildPushCold.push(time(process.execPath, [CLI, "push", "-q", `${reg.host}/tb-cold-${r}/bench:512m`], env));
    res.skopeoPush.push(time("skopeo", ["copy", "-q", "--dest-tls-verify=false", `oci:${SRC}:${REF}`, `docker://${reg.host}/sk-${r}/bench:512m`]));
    res.tbuildPushWarm.push(time(process.execPath, [CLI, "push", "-q", `${reg.host}/tb-warm-${r}/bench:512m`], env));
    const dest = join(WORK, `pull-tb-${r}`);
    const sdest = join(WORK, `pull-sk-${r}`);
    fs.mkdirSync(sdest, { recursive: true });
    const dest2 = join(WORK, `pull-tb-noca-${r}`);
    const pulls = [
      () => res.tbuildPull.push(time(process.execPath, [CLI, "pull", "-q", `${reg.host}/sk-${r}/bench:512m`], { ...env, TBUILD_ROOT: dest })),
      () => res.skopeoPull.push(time("skopeo", ["copy", "-q", "--src-tls-verify=false", `docker://${reg.host}/sk-${r}/bench:512m`, `oci:${sdest}:bench`])),
    ];
    // Node 20 parses NODE_EXTRA_CA_CERTS when it starts (220 KB of PEM took ~40 ms of a
    // 60 ms `node -e 0` on the bench machine, which sets it); skopeo pays nothing for it.
    // When it is set, a third pull without it shows what that costs.
    if (process.env.NODE_EXTRA_CA_CERTS) {
      pulls.push(() => res.tbuildPullNoExtraCaCerts.push(time(process.execPath, [CLI, "pull", "-q", `${reg.host}/sk-${r}/bench:512m`], { ...env, TBUILD_ROOT: dest2, NODE_EXTRA_CA_CERTS: undefined })));
    }
    // Which pull runs first rotates: the first one follows the pushes' writes into the registry.
    for (let i = 0; i < pulls.length; i++) pulls[(i + r) % pulls.length]();
    fs.rmSync(dest, { recursive: true, force: true });
    fs.rmSync(dest2, { recursive: true, force: true });
    fs.rmSync(sdest, { recursive: true, force: true });
    reg.stop();
    reg = undefined;
  }
} finally {
  reg?.stop();
}
const loadEnd = loadavg();
if (res.tbuildPullNoExtraCaCerts.length === 0) delete res.tbuildPullNoExtraCaCerts;
const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Math.round(median(v))]));
const result = {
  bench: "registry",
  layers: LAYERS,
  bytes: total,
  runs: RUNS,
  cores: availableParallelism(),
  // The machine is shared: its load average (1, 5, 15 min) when the runs began and ended.
  loadAvg: { start: loadStart.map((x) => +x.toFixed(2)), end: loadEnd.map((x) => +x.toFixed(2)) },
  medianMs: m,
  allMs: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.map(Math.round)])),
  ratio: {
    pushColdVsSkopeo: +(m.tbuildPushCold / m.skopeoPush).toFixed(2),
    pushWarmVsSkopeo: +(m.tbuildPushWarm / m.skopeoPush).toFixed(2),
    pullVsSkopeo: +(m.tbuildPull / m.skopeoPull).toFixed(2),
    ...(m.tbuildPullNoExtraCaCerts ? { pullNoExtraCaCertsVsSkopeo: +(m.tbuildPullNoExtraCaCerts / m.skopeoPull).toFixed(2) } : {}),
  },
  throughputMBs: Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(total / 1e6 / (v / 1000))])),
  goal: "push and pull no slower than skopeo copy",
  met: m.tbuildPushCold <= m.skopeoPush && m.tbuildPull <= m.skopeoPull,
  note: "layers: half random (stored by gzip), half repeated text; gzip ~50% of tar. push cold: tbuild gzips (its remembered gzip deleted first) while uploading; warm: reuses it. pull: both keep the gzip blobs as they came (verified, each layer fsynced before its rename; skopeo fsyncs no manifest, index.json or directory, tbuild does); tbuild inflates a layer on first use, not at pull; the pulls rotate which runs first; tbuildPullNoExtraCaCerts is tbuild's pull with NODE_EXTRA_CA_CERTS unset (Node 20 parses that file at start; the goal is judged on tbuildPull)",
};
fs.mkdirSync(join(here, "results"), { recursive: true });
fs.writeFileSync(join(here, "results", "registry.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));
fs.rmSync(WORK, { recursive: true, force: true });
