// Mutation fuzzing of the pure front end: corpus Dockerfiles (../shared/corpus/dockerfiles)
// mutated deterministically (byte flips, line duplication/deletion, splices across files,
// inserted `\`, `<<EOF`, `${`, quotes, JSON brackets, huge repeats, binary garbage) through
// parseDockerfile + decodeDockerfile + lintParsed + planParsed with in-memory ports: parsed
// once, as a build does.
// Expected: no exception other than TbuildError, parse and lint never throw, and no input
// takes 1 s. Inputs run in worker threads. "Over 1 s" is the wall time the worker itself
// measures around that one input (parse to plan, not queueing or generating the input); the
// stage times of the slowest inputs are kept. A watchdog terminates a worker stuck on one
// input for STUCK_MS (a real hang, which never reports its own time) and records it as a hang.
// Failures are saved to bench/results/fuzz-failures/ (input + stack) and summarised in
// bench/results/fuzz.json.
//   FUZZ_N (default 100000), FUZZ_SEED (default 20240611), FUZZ_WORKERS (default 2)
// Reproducing a few inputs without the whole run (direct: `node bench/fuzz.bench.mjs …`,
// after `npx tsc -p tsconfig.json`; these never write fuzz.json):
//   --only 62,127,50684   just these inputs          --from 1000 --count 500   a range
//   --save                write every selected input to bench/results/fuzz-failures/
//   --solo                run them one by one in this thread and print per-stage times
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

const N = Number(process.env.FUZZ_N ?? 100_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const WORKERS = Number(process.env.FUZZ_WORKERS ?? 2);
// The goal: no input takes this long (measured by the worker around the input).
const LIMIT_MS = 1000;
// A worker silent on one input for this long is stuck: terminate it and record a hang. Far
// above LIMIT_MS so that a slow-but-finishing input reports its own (honest) time instead.
const STUCK_MS = 20_000;
// How many of the slowest inputs keep their per-stage times in fuzz.json.
const SLOWEST_KEPT = 20;
const MAX_INPUT = 17 * 1024 * 1024;
const corpusDir = new URL("../../shared/corpus/dockerfiles/", import.meta.url);
const resultsDir = new URL("./results/", import.meta.url);
const failDir = new URL("./results/fuzz-failures/", import.meta.url);

// --- deterministic input generation (same in every thread) ---

function mulberry32(a) {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedFor(i) {
  const h = createHash("sha256").update(`${SEED}:${i}`).digest();
  return h.readUInt32LE(0);
}

const TOKENS = [
  "\\", "\\\n", "`", "<<EOF", "<<-EOF", '<<"EOF"', "<<'EOF'", "<<EOF <<EOT", "\nEOF\n", "${", "}", "${A:-", "${A:+x}", "${A#*}", "${A/x/y}", "${A:?}", "$", "$(",
  '"', "'", "[", "]", '["', '", "', '"]', "[\"/bin/sh\", \"-c\"", "{", "#", "# escape=`\n", "# syntax=docker/dockerfile:1\n", "# check=error=true\n",
  "\n", "\r\n", "\r", "\t", " ", "\0", "\u00a0", "\ufeff", "\u2028", "\ud800", "=", "--", "--mount=type=cache,target=/x ", "--mount=type=bind,from=0,target=/ ",
  "--from=", "--chown=", "--chmod=777 ", "--link ", "--platform=$BUILDPLATFORM ", "--network=none ", "--exclude=* ", "--parents ",
  "FROM ", "FROM scratch\n", "FROM a AS b\n", "FROM b\n", "RUN ", "COPY ", "COPY --from=b / /\n", "ADD ", "ARG ", "ARG A=${B:-${C}}\n", "ENV ", "ENV A=1 B=2\n", "LABEL ",
  "ONBUILD ", "ONBUILD ONBUILD ", "HEALTHCHECK ", "HEALTHCHECK NONE\n", "SHELL [\"x\"]\n", "WORKDIR ", "WORKDIR ..\n", "USER ", "EXPOSE 80/udp ", "VOLUME ", "STOPSIGNAL ", "CMD ", "ENTRYPOINT ", "MAINTAINER ",
  "../", "/..", "..", "*", "**", "?", "[a-", "~", "@sha256:", ":latest", "\\$", "\\\\",
];

function mutate(rand, texts) {
  const pick = (n) => Math.floor(rand() * n);
  const base = texts[pick(texts.length)];
  let s = base;
  const steps = 1 + pick(4);
  const ops = [];
  for (let k = 0; k < steps; k++) {
    const op = pick(100);
    const pos = s.length ? pick(s.length + 1) : 0;
    if (op < 20) {
      // byte flips
      const n = 1 + pick(8);
      const a = [...s];
      for (let j = 0; j < n && a.length; j++) a[pick(a.length)] = String.fromCharCode(pick(4) === 0 ? pick(0x10000) : pick(128));
      s = a.join("");
      ops.push("flip");
    } else if (op < 30) {
      const lines = s.split("\n");
      const l = pick(lines.length);
      const want = pick(10) === 0 ? 1 + pick(2000) : 1 + pick(3);
      const times = Math.max(1, Math.min(want, Math.floor(MAX_INPUT / (lines[l].length + 1))));
      lines.splice(l, 0, ...Array(times).fill(lines[l]));
      s = lines.join("\n");
      ops.push("dup-line");
    } else if (op < 38) {
      const lines = s.split("\n");
      lines.splice(pick(lines.length), 1 + pick(3));
      s = lines.join("\n");
      ops.push("del-line");
    } else if (op < 50) {
      const other = texts[pick(texts.length)].split("\n");
      const from = pick(other.length);
      const chunk = other.slice(from, from + 1 + pick(10));
      const lines = s.split("\n");
      lines.splice(pick(lines.length + 1), 0, ...chunk);
      s = lines.join("\n");
      ops.push("splice");
    } else if (op < 80) {
      const t = TOKENS[pick(TOKENS.length)];
      s = s.slice(0, pos) + t + s.slice(pos);
      ops.push("token");
    } else if (op < 86) {
      // huge repeat of a token or a slice of the text
      const t = pick(2) ? TOKENS[pick(TOKENS.length)] : s.slice(pos, pos + 1 + pick(40));
      const times = Math.max(1, Math.min(pick(20) === 0 ? 20_000 + pick(80_000) : 10 + pick(2000), Math.floor(MAX_INPUT / Math.max(1, t.length))));
      s = s.slice(0, pos) + t.repeat(times) + s.slice(pos);
      ops.push(`repeat×${times}`);
    } else if (op < 90) {
      const n = 1 + pick(512);
      let g = "";
      for (let j = 0; j < n; j++) g += String.fromCharCode(pick(256));
      s = s.slice(0, pos) + g + s.slice(pos);
      ops.push("garbage");
    } else if (op < 93) {
      s = s.slice(0, pos);
      ops.push("truncate");
    } else if (op < 96) {
      // deep ${} nesting around a variable
      const d = 1 + pick(200);
      s = s.slice(0, pos) + "${A:-".repeat(d) + "x" + "}".repeat(pick(2) ? d : pick(d + 1)) + s.slice(pos);
      ops.push(`nest×${d}`);
    } else {
      // a heredoc whose terminator may never come
      const body = "echo hi\n".repeat(1 + pick(200));
      s = s.slice(0, pos) + `\nRUN <<EOF\n${body}${pick(2) ? "EOF\n" : ""}` + s.slice(pos);
      ops.push("heredoc");
    }
    // Stay a little above the parser's 16 MiB limit, so the limit itself is exercised.
    if (s.length > MAX_INPUT) s = s.slice(0, MAX_INPUT);
  }
  return { text: s, ops };
}

function inputFor(i, texts) {
  return mutate(mulberry32(seedFor(i)), texts);
}

function loadCorpus() {
  return readdirSync(corpusDir).sort().map((f) => readFileSync(new URL(f, corpusDir), "utf8"));
}

// --- running one input through the front end (a worker, or this thread with --solo) ---

async function loadFrontEnd(dist) {
  const { parseDockerfile, decodeDockerfile } = await import(`${dist}/src/dockerfile/index.js`);
  const { lintParsed } = await import(`${dist}/src/lint/index.js`);
  const { planParsed } = await import(`${dist}/src/plan/index.js`);
  const { TbuildError } = await import(`${dist}/src/util/index.js`);
  const digest = (s) => `sha256:${createHash("sha256").update(s).digest("hex")}`;
  const platform = { os: "linux", architecture: "amd64" };
  const resolver = { async resolve(ref) { return { ref, digest: digest(`image:${ref}`), config: {}, platform }; } };
  const hasher = {
    async hash(req) {
      const files = {};
      for (const s of req.sources) files[s] = digest(`file:${s}`);
      return { digest: digest(`sel:${JSON.stringify(req.sources)}`), files };
    },
  };
  return { parseDockerfile, decodeDockerfile, lintParsed, planParsed, TbuildError, platform, resolver, hasher };
}

// Wall time of the whole input and of each stage it reached, in ms.
async function runInput(fe, text) {
  const stages = {};
  const t0 = performance.now();
  let lapStart = t0;
  let stage = "parse";
  const next = (name) => {
    const now = performance.now();
    stages[stage] = now - lapStart;
    lapStart = now;
    stage = name;
  };
  let outcome = "ok";
  let failure;
  try {
    const parsed = fe.parseDockerfile(text);
    next("decode");
    fe.decodeDockerfile(parsed);
    next("lint");
    fe.lintParsed(parsed);
    next("plan");
    try {
      await fe.planParsed(parsed, { platform: fe.platform, resolver: fe.resolver, hasher: fe.hasher });
    } catch (e) {
      if (!(e instanceof fe.TbuildError)) throw e;
      outcome = e.code;
    }
    next("end");
  } catch (e) {
    next("end");
    outcome = "failure";
    failure = { stage: Object.keys(stages).at(-1), name: e?.name ?? typeof e, message: String(e?.message ?? e).slice(0, 500), stack: String(e?.stack ?? "").slice(0, 4000), tbuild: e instanceof fe.TbuildError };
  }
  return { ms: performance.now() - t0, stages, outcome, failure };
}

async function workerMain() {
  // A private copy of dist (made by main): other engineers recompile dist/ meanwhile.
  const fe = await loadFrontEnd(workerData.dist);
  const texts = loadCorpus();
  for (const i of workerData.indices) {
    const { text } = inputFor(i, texts);
    parentPort.postMessage({ type: "start", i });
    const r = await runInput(fe, text);
    parentPort.postMessage({ type: "done", i, bytes: text.length, ...r });
  }
  parentPort.postMessage({ type: "end" });
}

// --- main: select inputs, split them over workers, watch them, collect results ---

function parseArgs(argv) {
  const opts = { only: undefined, from: undefined, count: undefined, save: false, solo: false, repeat: 1 };
  const int = (name, v) => {
    if (!/^\d+$/.test(v ?? "")) throw new Error(`fuzz: ${name} wants a non-negative integer, got ${v}`);
    return Number(v);
  };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === "--only") opts.only = (argv[++k] ?? "").split(",").map((v) => int("--only", v.trim()));
    else if (a === "--from") opts.from = int(a, argv[++k]);
    else if (a === "--count") opts.count = int(a, argv[++k]);
    else if (a === "--repeat") opts.repeat = Math.max(1, int(a, argv[++k]));
    else if (a === "--save") opts.save = true;
    else if (a === "--solo") opts.solo = true;
    else throw new Error(`fuzz: unknown argument ${a} (see the header of bench/fuzz.bench.mjs)`);
  }
  if (opts.only && (opts.from !== undefined || opts.count !== undefined)) throw new Error("fuzz: --only and --from/--count exclude each other");
  const from = opts.from ?? 0;
  opts.indices = opts.only ?? Array.from({ length: opts.count ?? N - from }, (_, k) => from + k);
  opts.partial = opts.only !== undefined || opts.from !== undefined || opts.count !== undefined;
  return opts;
}

function signature(f) {
  const frame = (f.stack.split("\n").find((l) => l.includes("/dist/src/")) ?? "").trim().replace(/:\d+\)?$/, "");
  return `${f.stage}: ${f.name}: ${f.message.replace(/\d+/g, "N").slice(0, 120)} @ ${frame}`;
}

const fmtStages = (stages) => Object.entries(stages).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ");

// --solo: each input alone in this thread (no other worker competing), `repeat` times.
async function solo(indices, texts, dist, repeat) {
  const fe = await loadFrontEnd(dist);
  for (const i of indices) {
    const { text, ops } = inputFor(i, texts);
    const runs = [];
    for (let k = 0; k < repeat; k++) runs.push(await runInput(fe, text));
    runs.sort((a, b) => a.ms - b.ms);
    const med = runs[Math.floor(runs.length / 2)];
    const lines = text.split("\n").length;
    const mbps = text.length / 1e6 / (med.ms / 1000);
    console.log(`#${i}: ${(text.length / 1e6).toFixed(2)} MB, ${lines} lines: ${med.ms.toFixed(0)} ms (${mbps.toFixed(1)} MB/s; ${fmtStages(med.stages)}) ${med.outcome}${med.failure ? ` ${signature(med.failure)}` : ""} [${ops.join(", ")}]`);
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const texts = loadCorpus();
  // Snapshot the compiled code under node_modules/.cache (so its imports still resolve).
  const dist = fileURLToPath(new URL(`../node_modules/.cache/tbuild-fuzz-${process.pid}/dist`, import.meta.url));
  cpSync(fileURLToPath(new URL("../dist/src", import.meta.url)), `${dist}/src`, { recursive: true });
  cpSync(fileURLToPath(new URL("../dist/grammar", import.meta.url)), `${dist}/grammar`, { recursive: true });
  process.on("exit", () => rmSync(dirname(dist), { recursive: true, force: true }));
  // A partial run adds to the repro folder; a full run starts it afresh.
  if (!opts.partial) rmSync(failDir, { recursive: true, force: true });
  mkdirSync(failDir, { recursive: true });
  if (opts.save) {
    for (const i of opts.indices) {
      const { text, ops } = inputFor(i, texts);
      writeFileSync(new URL(`input-${i}.Dockerfile`, failDir), text);
      writeFileSync(new URL(`input-${i}.txt`, failDir), `input #${i} (seed ${SEED}), mutations: ${ops.join(", ")}\n`);
    }
    console.log(`saved ${opts.indices.length} inputs to bench/results/fuzz-failures/input-*.Dockerfile`);
  }
  if (opts.solo) return solo(opts.indices, texts, dist, opts.repeat);
  const total = opts.indices.length;
  const t0 = performance.now();
  const outcomes = {};
  const failures = new Map(); // signature → { count, stage, name, message, examples: [] }
  const hangs = [];
  const times = [];
  let slowest = []; // the SLOWEST_KEPT slowest inputs, slowest first, with stage times
  let done = 0;
  const saved = new Map();
  const save = (i, kind, extra) => {
    // Hang candidates are big inputs (up to 17 MB): keep the first 20 as repro files.
    if ((saved.get(kind) ?? 0) >= 20) return `(not saved: regenerate with node bench/fuzz.bench.mjs --only ${i} --save, FUZZ_SEED=${SEED})`;
    saved.set(kind, (saved.get(kind) ?? 0) + 1);
    const { text, ops } = inputFor(i, texts);
    const base = `${kind}-${i}`;
    writeFileSync(new URL(`${base}.Dockerfile`, failDir), text);
    writeFileSync(new URL(`${base}.txt`, failDir), `input #${i} (seed ${SEED}), mutations: ${ops.join(", ")}\n${extra}\n`);
    return `bench/results/fuzz-failures/${base}.Dockerfile`;
  };
  const record = (m) => {
    done++;
    times.push(m.ms);
    if (slowest.length < SLOWEST_KEPT || m.ms > slowest.at(-1).ms) {
      slowest.push({ i: m.i, ms: m.ms, bytes: m.bytes, stages: m.stages, outcome: m.outcome });
      slowest = slowest.sort((a, b) => b.ms - a.ms).slice(0, SLOWEST_KEPT);
    }
    if (m.ms > LIMIT_MS) hangs.push({ i: m.i, ms: m.ms, bytes: m.bytes, stages: m.stages, file: save(m.i, "hang", `took ${m.ms.toFixed(0)} ms (${fmtStages(m.stages)})`) });
    outcomes[m.outcome] = (outcomes[m.outcome] ?? 0) + 1;
    if (m.failure) {
      const sig = signature(m.failure);
      let f = failures.get(sig);
      if (!f) failures.set(sig, (f = { signature: sig, stage: m.failure.stage, name: m.failure.name, message: m.failure.message, count: 0, examples: [] }));
      f.count++;
      if (f.examples.length < 3) f.examples.push(save(m.i, `failure-${m.failure.stage}`, `${m.failure.tbuild ? "TbuildError thrown by a stage that must not throw" : "uncaught non-TbuildError"}\n${m.failure.stack}`));
    }
    if (done % 10_000 === 0) console.log(`${done}/${total} inputs, ${((performance.now() - t0) / 1000).toFixed(1)} s, ${hangs.length} hangs, ${[...failures.values()].reduce((n, f) => n + f.count, 0)} failures`);
  };
  const runList = (indices, attempt = 0) =>
    new Promise((resolve, reject) => {
      if (indices.length === 0) return resolve();
      let current = -1;
      let startedAt = 0;
      const after = (i) => indices.slice(indices.indexOf(i) + 1);
      const w = new Worker(new URL(import.meta.url), { workerData: { indices, dist }, resourceLimits: { maxOldGenerationSizeMb: 2048 } });
      const timer = setInterval(() => {
        if (current >= 0 && performance.now() - startedAt > STUCK_MS) {
          const i = current;
          current = -1;
          clearInterval(timer);
          w.removeAllListeners("message"); // a late "done" for input i must not count twice
          hangs.push({ i, stuck: true, file: save(i, "hang", `still running after ${STUCK_MS} ms: terminated by the watchdog`) });
          done++;
          w.terminate().then(() => runList(after(i)).then(resolve, reject));
        }
      }, 100);
      w.on("message", (m) => {
        if (m.type === "start") {
          current = m.i;
          startedAt = performance.now();
        } else if (m.type === "done") {
          current = -1;
          record(m);
        } else if (m.type === "end") {
          clearInterval(timer);
          w.terminate().then(resolve, reject);
        }
      });
      w.on("error", (e) => {
        // The worker died (out of memory, say): record the input it was on and go on after it.
        clearInterval(timer);
        const i = current;
        if (i < 0) {
          // Died before its first input (loading the code): retry a few times.
          if (attempt < 3) return void runList(indices, attempt + 1).then(resolve, reject);
          return reject(e);
        }
        current = -1;
        done++;
        const sig = `worker died: ${e.message}`;
        let f = failures.get(sig);
        if (!f) failures.set(sig, (f = { signature: sig, stage: "worker", name: e.name, message: e.message, count: 0, examples: [] }));
        f.count++;
        if (f.examples.length < 3) f.examples.push(save(i, "failure-worker", String(e.stack)));
        runList(after(i)).then(resolve, reject);
      });
    });
  const per = Math.ceil(total / WORKERS);
  await Promise.all(Array.from({ length: WORKERS }, (_, k) => runList(opts.indices.slice(k * per, (k + 1) * per))));
  const seconds = (performance.now() - t0) / 1000;
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))] ?? 0;
  const failureList = [...failures.values()].sort((a, b) => b.count - a.count);
  const result = {
    count: done,
    seed: SEED,
    workers: WORKERS,
    seconds,
    inputsPerSecond: done / seconds,
    limitMs: LIMIT_MS,
    stuckMs: STUCK_MS,
    loadavg: readFileSync("/proc/loadavg", "utf8").trim(),
    perInputMs: { p50: q(0.5), p99: q(0.99), p999: q(0.999), max: slowest[0]?.ms ?? 0, maxInput: slowest[0]?.i ?? -1 },
    outcomes,
    failuresByKind: {
      uncaught: failureList.filter((f) => f.stage !== "worker").reduce((n, f) => n + f.count, 0),
      workerDied: failureList.filter((f) => f.stage === "worker").reduce((n, f) => n + f.count, 0),
      hangs: hangs.length,
    },
    failures: failureList,
    hangs,
    slowest,
  };
  console.log(`fuzz: ${done} inputs in ${seconds.toFixed(1)} s (${result.inputsPerSecond.toFixed(0)}/s), p99 ${q(0.99).toFixed(2)} ms, max ${result.perInputMs.max.toFixed(0)} ms (#${result.perInputMs.maxInput})`);
  console.log(`outcomes: ${JSON.stringify(outcomes)}`);
  console.log(`failures: ${result.failuresByKind.uncaught} uncaught in ${failureList.length} kinds, ${hangs.length} inputs over ${LIMIT_MS} ms`);
  for (const f of failureList) console.log(`  ${f.count}× ${f.signature}\n     e.g. ${f.examples[0]}`);
  for (const s of slowest.slice(0, 5)) console.log(`  slow #${s.i}: ${s.ms.toFixed(0)} ms, ${(s.bytes / 1e6).toFixed(2)} MB (${fmtStages(s.stages)})`);
  if (opts.partial) console.log("(a partial run: bench/results/fuzz.json left as it was)");
  else {
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(new URL("fuzz.json", resultsDir), JSON.stringify(result, null, 2) + "\n");
    if (failureList.length === 0 && hangs.length === 0) rmSync(failDir, { recursive: true, force: true });
  }
  process.exitCode = failureList.length || hangs.length ? 1 : 0;
}

if (isMainThread) await main();
else await workerMain();
