// Store benchmark: `tbuild save` and `tbuild load` of an image with 512 MiB of layers
// (4 × 128 MiB, random bytes) side by side with `tar -cf` / `tar -xf` of the same bytes.
// Warm page cache; every timed command starts after a `sync`, so no step pays for the
// previous one's dirty pages; tbuild and its peers go first in alternate runs; medians
// of RUNS. load fsyncs every blob before it becomes visible (the store's promise), so
// it has two peers: `tar -xf` (the limit the issue names) and `tar -xf && sync -f` (the
// same durability). `load --debug` reports how long it waited for fsync at the end.
// The archive also goes through a pipe (`cat archive | tbuild load`, which cannot read it at
// offsets), beside `cat archive | tar -xf -` of the same archive.
// Writes bench/results/store.json.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = join(here, "..", "dist", "src");
// The CLI users run: package.json's bin (the bundle `npm run build` writes).
const CLI = join(here, "..", JSON.parse(fs.readFileSync(join(here, "..", "package.json"), "utf8")).bin.tbuild);
const { Store } = await import(join(dist, "store", "index.js"));
const { buildConfig } = await import(join(dist, "image", "index.js"));
const tarStream = (await import("tar-stream")).default;

const WORK = process.env.TBUILD_BENCH_DIR ?? join(tmpdir(), "tbuild-bench-store");
const LAYERS = 4;
const LAYER_SIZE = 128 * 1024 * 1024;
const RUNS = Number(process.env.TBUILD_BENCH_RUNS ?? 7);

async function layerTar(i) {
  const pack = tarStream.pack();
  const chunks = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c);
  })();
  const body = randomBytes(LAYER_SIZE - 4096);
  await new Promise((res, rej) => pack.entry({ name: `layer${i}/data.bin`, size: body.length, mtime: new Date(0) }, body, (e) => (e ? rej(e) : res())));
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

fs.rmSync(WORK, { recursive: true, force: true });
const SRC = join(WORK, "store");
const RAW = join(WORK, "raw");
fs.mkdirSync(RAW, { recursive: true });
const store = await Store.open(SRC);
const layers = [];
for (let i = 0; i < LAYERS; i++) {
  const bytes = await layerTar(i);
  const info = await store.putBlob(bytes);
  layers.push({ diffId: info.digest, size: info.size });
  fs.writeFileSync(join(RAW, `layer${i}.tar`), bytes);
}
const config = buildConfig({ platform: { os: "linux", architecture: "amd64" }, diffIds: layers.map((l) => l.diffId), history: layers.map((_, i) => ({ created_by: `layer ${i}` })) });
await store.putImage({ config, layers, tags: ["bench:512m"] });
const total = layers.reduce((n, l) => n + l.size, 0);

/** Run a command after a sync (untimed); its wall time in ms and its stderr. */
function time(cmd, args, env = {}) {
  spawnSync("sync");
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return { ms, stderr: r.stderr.toString() };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** `load --debug`'s phase line: streaming, waiting for fsync, committing (ms). */
function loadPhases(stderr) {
  const m = /load: (\d+) ms reading, verifying and writing; (\d+) ms waiting for fsync; (\d+) ms committing/.exec(stderr);
  if (!m) throw new Error(`load --debug printed no timings: ${stderr}`);
  return { stream: +m[1], fsyncWait: +m[2], commit: +m[3] };
}

const archive = join(WORK, "bench.tar");
const plain = join(WORK, "plain.tar");
const res = { save: [], tarCf: [], load: [], tarXf: [], tarXfSync: [], loadPipe: [], tarXfPipe: [], loadFsyncWait: [], loadStream: [], loadCommit: [] };
/** How load --debug said it read the piped archive. */
let pipeRead = "";
const loadBefore = loadavg();
for (let r = 0; r < RUNS; r++) {
  fs.rmSync(archive, { force: true });
  fs.rmSync(plain, { force: true });
  const dest = join(WORK, `dest-${r}`);
  const out = join(WORK, `out-${r}`);
  const out2 = join(WORK, `out2-${r}`);
  const destPipe = join(WORK, `dest-pipe-${r}`);
  const outPipe = join(WORK, `out-pipe-${r}`);
  fs.mkdirSync(out, { recursive: true });
  fs.mkdirSync(out2, { recursive: true });
  fs.mkdirSync(outPipe, { recursive: true });
  const save = () => res.save.push(time(process.execPath, [CLI, "save", "-o", archive, "bench:512m"], { TBUILD_ROOT: SRC }).ms);
  const tarCf = () => res.tarCf.push(time("tar", ["-cf", plain, "-C", RAW, "."]).ms);
  const load = () => {
    const { ms, stderr } = time(process.execPath, [CLI, "load", "--debug", "-q", "-i", archive], { TBUILD_ROOT: dest });
    const p = loadPhases(stderr);
    res.load.push(ms);
    res.loadStream.push(p.stream);
    res.loadFsyncWait.push(p.fsyncWait);
    res.loadCommit.push(p.commit);
  };
  const tarXf = () => res.tarXf.push(time("tar", ["-xf", plain, "-C", out]).ms);
  // The same extraction made durable, as load is.
  const tarXfSync = () => res.tarXfSync.push(time("sh", ["-c", `tar -xf "$0" -C "$1" && sync -f "$1"`, plain, out2]).ms);
  // The same archive through a pipe: the CLI cannot read it at offsets.
  const loadPipe = () => {
    const { ms, stderr } = time("sh", ["-c", `cat "$0" | "$1" "$2" load --debug -q`, archive, process.execPath, CLI], { TBUILD_ROOT: destPipe });
    pipeRead = /load: the archive was (.*)/.exec(stderr)?.[1] ?? "";
    res.loadPipe.push(ms);
  };
  const tarXfPipe = () => res.tarXfPipe.push(time("sh", ["-c", `cat "$0" | tar -xf - -C "$1"`, archive, outPipe]).ms);
  const steps = r % 2 === 0 ? [save, tarCf, load, loadPipe, tarXf, tarXfPipe, tarXfSync] : [tarCf, save, tarXfPipe, tarXfSync, loadPipe, tarXf, load];
  for (const step of steps) step();
  for (const d of [dest, out, out2, destPipe, outPipe]) fs.rmSync(d, { recursive: true, force: true });
}
const loadAfter = loadavg();
const m = Object.fromEntries(Object.entries(res).map(([k, v]) => [k, Math.round(median(v))]));
const ratio = (a, b) => +(a / b).toFixed(2);
const result = {
  bench: "store",
  layers: LAYERS,
  bytes: total,
  runs: RUNS,
  medianMs: m,
  allMs: Object.fromEntries(Object.entries(res).map(([k, v]) => [k, v.map(Math.round)])),
  ratio: { saveVsTarCf: ratio(m.save, m.tarCf), loadVsTarXf: ratio(m.load, m.tarXf), loadVsTarXfSync: ratio(m.load, m.tarXfSync), loadPipeVsTarXfPipe: ratio(m.loadPipe, m.tarXfPipe), loadPipeVsLoad: ratio(m.loadPipe, m.load) },
  pipeRead,
  loadFsyncWaitShare: ratio(m.loadFsyncWait, m.load),
  throughputMBs: { save: Math.round(total / 1e6 / (m.save / 1000)), load: Math.round(total / 1e6 / (m.load / 1000)), loadPipe: Math.round(total / 1e6 / (m.loadPipe / 1000)) },
  loadavg: { before: loadBefore.map((x) => +x.toFixed(2)), after: loadAfter.map((x) => +x.toFixed(2)), cpus: cpus().length },
  goal: "save ≤ 1.5× tar -cf, load ≤ 1.5× tar -xf",
  met: { save: m.save / m.tarCf <= 1.5, load: m.load / m.tarXf <= 1.5, loadVsDurableTar: m.load / m.tarXfSync <= 1.5 },
  note: "load verifies every digest and fsyncs each blob before it becomes visible; tar -xf does neither, tar -xf && sync -f has the same durability. loadFsyncWait is the time load waits for fsyncs after the last byte (each blob's fsync starts in the background as soon as it is verified). loadPipe is `cat archive | tbuild load`, tarXfPipe `cat archive | tar -xf -` of the same archive; pipeRead is how load --debug said it read the pipe.",
};
fs.mkdirSync(join(here, "results"), { recursive: true });
fs.writeFileSync(join(here, "results", "store.json"), JSON.stringify(result, null, 2) + "\n");
console.log(JSON.stringify(result, null, 2));
fs.rmSync(WORK, { recursive: true, force: true });
