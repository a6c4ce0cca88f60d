// `tbuild build [OPTIONS] CONTEXT` (and the shorthand `tbuild [OPTIONS] CONTEXT`): Docker's
// flags over src/build's buildImage, with progress rendered as tty, plain or JSON lines,
// `--dry-run` (the plan with cache hits and misses) and `--check` (lint only).
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { isAbsolute, relative, resolve } from "node:path";
import { TbuildError } from "../../util/index.js";
import { buildImage, exportBuildCache, normaliseTags, pushBuiltImage, type BuildEvent, type SecretSource } from "../../build/index.js";
import type { CacheSpec } from "../../registry/index.js";
import type { RuntimeName } from "../../exec/index.js";
import { stringList, type CommandSpec } from "../args.js";
import { readText, type CommandContext, type OutStream } from "../io.js";
import { TLS_VERIFY_DETAILS, TLS_VERIFY_OPTION, tlsVerifyOption } from "../tls-verify.js";
import type { ProgressRenderer } from "../render/progress-plain.js";
import { version } from "../version.js";
import type { ParseResult } from "../../dockerfile/index.js";
import { checkFailure, checksAreErrors, parseForBuild, printWarnings, runBuildChecks, type BuildCheckResult } from "./build-checks.js";

export const spec: CommandSpec = {
  name: "build",
  summary: "Build an image from a Dockerfile",
  usage: "build [OPTIONS] CONTEXT",
  minPositionals: 1,
  maxPositionals: 1,
  options: {
    tag: { type: "string", short: "t", multiple: true, valueName: "NAME[:TAG]", description: "name the image (e.g. app, app:1.0)" },
    file: { type: "string", short: "f", valueName: "FILE", description: 'the Dockerfile (default CONTEXT/Dockerfile; "-" reads stdin)' },
    "build-arg": { type: "string", multiple: true, valueName: "KEY[=VALUE]", description: "set a build-time variable" },
    target: { type: "string", valueName: "STAGE", description: "build this stage (default: the last)" },
    "no-cache": { type: "boolean", description: "do not use the build cache" },
    label: { type: "string", multiple: true, valueName: "KEY=VALUE", description: "add a label to the image" },
    iidfile: { type: "string", valueName: "FILE", description: "write the image ID to FILE" },
    quiet: { type: "boolean", short: "q", description: "print only the image ID" },
    progress: { type: "string", valueName: "MODE", default: "auto", description: "progress output: auto, plain, tty or json" },
    platform: { type: "string", valueName: "OS/ARCH", description: "target platform (this machine's only)" },
    "dry-run": { type: "boolean", description: "print the plan with cache hits and misses; build nothing" },
    check: { type: "boolean", description: "run the lint checks only, do not build" },
    secret: { type: "string", multiple: true, valueName: "SPEC", description: "a secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR" },
    runtime: { type: "string", valueName: "NAME", default: "auto", description: "RUN sandbox: crun, runc or unshare (default: the first installed)" },
    pull: { type: "boolean", description: "always ask the registry for a newer version of the base images" },
    push: { type: "boolean", description: "push the image to its registry after the build (shorthand for --output type=registry)" },
    output: { type: "string", short: "o", multiple: true, valueName: "SPEC", description: "type=image (the store, default) or type=registry[,name=REF] (also push)" },
    "cache-to": { type: "string", multiple: true, valueName: "SPEC", description: "export the build cache: type=registry,ref=REG/REPO:TAG[,mode=min|max] or type=local,dest=DIR" },
    "cache-from": { type: "string", multiple: true, valueName: "SPEC", description: "import a build cache: type=registry,ref=REG/REPO:TAG or type=local,src=DIR" },
    "tls-verify": TLS_VERIFY_OPTION,
  },
  details: [
    "Progress goes to stderr; with -q only the image ID is printed (stdout).",
    "SOURCE_DATE_EPOCH (environment or --build-arg) makes layers and the image reproducible.",
    TLS_VERIFY_DETAILS,
  ].join("\n"),
};

interface Values {
  tag?: string[];
  file?: string;
  "build-arg"?: string[];
  target?: string;
  "no-cache"?: boolean;
  label?: string[];
  iidfile?: string;
  quiet?: boolean;
  progress?: string;
  platform?: string;
  "dry-run"?: boolean;
  check?: boolean;
  secret?: string[];
  runtime?: string;
  pull?: boolean;
  push?: boolean;
  output?: string[];
  "cache-to"?: string[];
  "cache-from"?: string[];
  "tls-verify"?: string;
}

const RUNTIMES = new Set(["auto", "crun", "runc", "unshare"]);
const PROGRESS = new Set(["auto", "plain", "tty", "json"]);

/** Parse `--secret id=…,src=…|env=…` (type=file|env accepted, as buildx). */
function parseSecret(spec: string, env: Readonly<Record<string, string | undefined>>, cwd: string): SecretSource {
  const fields = new Map<string, string>();
  for (const part of spec.split(",")) {
    const i = part.indexOf("=");
    if (i < 0) throw new TbuildError("E_USAGE", `invalid --secret ${JSON.stringify(spec)}: ${JSON.stringify(part)} is not KEY=VALUE`, { hint: "write --secret id=NAME,src=FILE or id=NAME,env=VAR" });
    fields.set(part.slice(0, i).trim().toLowerCase(), part.slice(i + 1));
  }
  const id = fields.get("id");
  if (!id) throw new TbuildError("E_USAGE", `invalid --secret ${JSON.stringify(spec)}: id is required`, { hint: "write --secret id=NAME,src=FILE" });
  const src = fields.get("src") ?? fields.get("source");
  const envName = fields.get("env") ?? (fields.get("type") === "env" ? id : undefined);
  if (src !== undefined) {
    try {
      return { id, value: readFileSync(resolve(cwd, src)) };
    } catch (e) {
      throw new TbuildError("E_USAGE", `secret ${id}: cannot read ${src}: ${(e as Error).message}`);
    }
  }
  const name = envName ?? id;
  const v = env[name];
  if (v === undefined) throw new TbuildError("E_USAGE", `secret ${id}: environment variable ${name} is not set`, { hint: "give src=FILE or env=VAR" });
  return { id, value: Buffer.from(v, "utf8") };
}

/** `--cache-to`, `--cache-from`, `--push`, `--output`, `--tls-verify` (buildx's syntax). */
async function parseRemoteFlags(v: Values, tags: readonly string[], cwd: string): Promise<{ cacheTo: CacheSpec[]; cacheFrom: CacheSpec[]; pushTags: string[]; tls: { tlsVerify?: boolean } }> {
  const tls = tlsVerifyOption(v["tls-verify"]);
  // registry/ is loaded only when a cache flag needs its parser.
  const specs = [...stringList(v["cache-to"]).map((s) => ["to", s] as const), ...stringList(v["cache-from"]).map((s) => ["from", s] as const)];
  const parse = specs.length > 0 ? (await import("../../registry/index.js")).parseCacheSpec : undefined;
  const cacheTo = specs.filter(([d]) => d === "to").map(([, s]) => parse!(s, "to", (p) => resolve(cwd, p)));
  const cacheFrom = specs.filter(([d]) => d === "from").map(([, s]) => parse!(s, "from", (p) => resolve(cwd, p)));
  let push = v.push === true;
  const names: string[] = [];
  for (const out of stringList(v.output)) {
    const attrs = new Map(out.split(",").map((p) => [p.slice(0, Math.max(0, p.indexOf("="))).trim(), p.slice(p.indexOf("=") + 1).trim()] as const));
    const type = attrs.get("type");
    if (type === "registry") push = true;
    else if (type === "image") push ||= attrs.get("push") === "true";
    else throw new TbuildError("E_USAGE", `unsupported --output ${JSON.stringify(out)}`, { hint: "use type=image (the store) or type=registry (the store, then push)" });
    const name = attrs.get("name");
    if (name) names.push(name);
  }
  const tagSet = new Set(normaliseTags(tags));
  const untagged = normaliseTags(names).filter((n) => !tagSet.has(n));
  if (untagged.length > 0) throw new TbuildError("E_USAGE", `--output name=${untagged[0]} is not one of the -t tags`, { hint: "tag the image with -t REF as well; --push sends every -t" });
  if (push && tags.length === 0) throw new TbuildError("E_USAGE", "--push needs a tag to push to", { hint: "add -t REGISTRY/REPO:TAG" });
  return { cacheTo, cacheFrom, pushTags: push ? normaliseTags(tags) : [], tls };
}

function parseLabels(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list) {
    const i = l.indexOf("=");
    if (i <= 0) throw new TbuildError("E_USAGE", `invalid --label ${JSON.stringify(l)}`, { hint: "write --label KEY=VALUE" });
    out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

/** The progress renderer for `mode`, loaded on use (`-q` needs none; a build uses one of three). */
async function renderer(mode: string, err: OutStream, env: Readonly<Record<string, string | undefined>>): Promise<ProgressRenderer> {
  const m = mode === "auto" ? (err.isTTY && env.TERM !== "dumb" ? "tty" : "plain") : mode;
  if (m === "json") return (await import("../render/json.js")).jsonRenderer(err);
  if (m === "tty") return (await import("../render/progress-tty.js")).ttyRenderer(err, { ...(err.columns !== undefined ? { columns: err.columns } : {}), rows: (err as { rows?: number }).rows ?? 24 });
  return (await import("../render/progress-plain.js")).plainRenderer(err);
}

function display(cwd: string, abs: string): string {
  const r = relative(cwd, abs);
  return r === "" || r.startsWith("..") || isAbsolute(r) ? abs : r;
}

/** The Dockerfile's text, or undefined when it cannot be read (the build reports that, located). */
function readTextIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export async function run(ctx: CommandContext): Promise<number> {
  const v = ctx.values as Values;
  const { io } = ctx;
  const progressMode = v.progress ?? "auto";
  if (!PROGRESS.has(progressMode)) throw new TbuildError("E_USAGE", `invalid --progress ${JSON.stringify(progressMode)}`, { hint: "use auto, plain, tty or json" });
  const runtime = v.runtime ?? "auto";
  if (!RUNTIMES.has(runtime)) throw new TbuildError("E_USAGE", `invalid --runtime ${JSON.stringify(runtime)}`, { hint: "use crun, runc or unshare" });
  const contextArg = ctx.positionals[0]!;
  if (contextArg === "-") throw new TbuildError("E_USAGE", "a build context read from stdin is not supported", { hint: "pass a directory; use -f - to read only the Dockerfile from stdin" });
  const contextDir = resolve(io.cwd, contextArg);
  const fromStdin = v.file === "-";
  const dockerfile = v.file === undefined || fromStdin ? resolve(contextDir, "Dockerfile") : resolve(io.cwd, v.file);
  const displayName = fromStdin ? "Dockerfile" : display(io.cwd, dockerfile);
  const dockerfileText = fromStdin ? await readText(io.stdin) : undefined;

  if (v.check) {
    let text = dockerfileText;
    if (text === undefined) {
      try {
        text = readFileSync(dockerfile, "utf8");
      } catch {
        throw new TbuildError("E_CONTEXT_NOT_FOUND", `cannot read Dockerfile: ${displayName}`, { hint: "pass -f with the Dockerfile's path" });
      }
    }
    ctx.registerSource(displayName, text);
    // Loaded only here: a build does not pay for the linter's modules.
    const { formatText, lintDockerfile } = await import("../../lint/index.js");
    const findings = lintDockerfile(text, { file: displayName });
    if (findings.length === 0) {
      io.stdout.write("Check complete, no warnings found.\n");
      return 0;
    }
    io.stdout.write(formatText(findings, { urls: true }));
    io.stdout.write(`Check complete, ${findings.length} warning${findings.length === 1 ? " has" : "s have"} been found!\n`);
    return 1;
  }

  const buildArgs = stringList(v["build-arg"]);
  const epochArg = [...buildArgs].reverse().find((a) => a.startsWith("SOURCE_DATE_EPOCH="))?.slice("SOURCE_DATE_EPOCH=".length);
  const epochText = epochArg ?? io.env.SOURCE_DATE_EPOCH;
  let sourceDateEpoch: number | undefined;
  if (epochText !== undefined && epochText !== "") {
    if (!/^\d+$/.test(epochText)) throw new TbuildError("E_USAGE", `invalid SOURCE_DATE_EPOCH ${JSON.stringify(epochText)}`, { hint: "give whole seconds since 1970" });
    sourceDateEpoch = Number(epochText);
  }
  const secrets = stringList(v.secret).map((s) => parseSecret(s, io.env, io.cwd));
  const labels = parseLabels(stringList(v.label));
  const quiet = v.quiet === true;
  const remote = await parseRemoteFlags(v, stringList(v.tag), io.cwd);
  const remoteLines: string[] = [];
  const remoteLog = (line: string) => void remoteLines.push(line);
  // Lint checks: fail before building only under `# check=error=true`; else warn after.
  const checkArgs = Object.fromEntries(buildArgs.map((a) => (a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, io.env[a] ?? ""])));
  const checkText = dockerfileText ?? readTextIfPresent(dockerfile);
  let checks: BuildCheckResult | undefined;
  // Parsed once, when first needed: by the checks, else by the planner (which returns it).
  let parsed: ParseResult | undefined;
  if (checkText !== undefined && checksAreErrors(checkText, checkArgs)) {
    parsed = await parseForBuild(checkText, displayName);
    checks = await runBuildChecks(parsed, checkArgs);
    if (checks.failure !== undefined) {
      ctx.registerSource(displayName, checkText);
      throw checkFailure(checks, displayName);
    }
  }
  const r: ProgressRenderer = quiet ? { sink: () => undefined, finish: () => undefined } : await renderer(progressMode, io.stderr, io.env);
  let ok = false;
  try {
    const result = await buildImage({
      root: ctx.root,
      contextDir,
      dockerfile,
      // Read once: the checks above and the build share the text.
      ...(checkText !== undefined ? { dockerfileText: checkText, ...(parsed ? { dockerfileParsed: parsed } : {}) } : {}),
      dockerfileFromStdin: fromStdin,
      displayName,
      tags: stringList(v.tag),
      buildArgs,
      environ: io.env,
      ...(v.target !== undefined ? { target: v.target } : {}),
      noCache: v["no-cache"] === true,
      labels,
      ...(v.platform !== undefined ? { platform: v.platform } : {}),
      dryRun: v["dry-run"] === true,
      secrets,
      runtime: runtime as RuntimeName | "auto",
      ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
      progress: (e: BuildEvent) => r.sink(e),
      signal: io.signal,
      registerSource: (file, text) => ctx.registerSource(file, text),
      pull: v.pull === true,
      ...remote.tls,
      cacheFrom: remote.cacheFrom,
      onRemote: remoteLog,
      // Cache export and push need the plan, which a replayed build does not have.
      ...(remote.cacheTo.length === 0 && remote.pushTags.length === 0 ? { fastPath: { version: version() } } : {}),
    });
    ok = true;
    r.finish(true);
    if (!quiet && checkText !== undefined) printWarnings(checks ?? (await runBuildChecks(parsed ?? result.parsed ?? (await parseForBuild(checkText, displayName)), checkArgs)), io.stderr, progressMode === "json");
    const showRemote = () => {
      // JSON progress gets one {"type":"remote","message"} object per line.
      if (!quiet) for (const line of remoteLines) io.stderr.write(progressMode === "json" ? `${JSON.stringify({ type: "remote", time: Date.now(), message: line })}\n` : `${line}\n`);
      remoteLines.length = 0;
    };
    showRemote();
    if (!result.dryRun) {
      const ro = { env: io.env, signal: io.signal, log: remoteLog, ...remote.tls };
      for (const spec of remote.cacheTo) {
        try {
          if (!result.plan) throw new TbuildError("E_INTERNAL", "a build that exports its cache must not be replayed");
          await exportBuildCache(ctx.root, result.plan, spec, ro);
        } catch (e) {
          if (!spec.ignoreError) throw e;
          remoteLog(`cache export failed (ignored): ${(e as Error).message}`);
        }
        showRemote();
      }
      if (remote.pushTags.length > 0) await pushBuiltImage(ctx.root, remote.pushTags, ro);
      showRemote();
    }
    if (result.dryRun) {
      const out = io.stdout;
      out.write(`Plan for ${displayName}${v.target ? ` (target ${v.target})` : ""}: ${result.cachedSteps}/${result.totalSteps} layer steps cached\n`);
      for (const s of result.dryRun) {
        const status = s.status === "cached" ? "CACHED" : s.status === "miss" ? "MISS  " : "      ";
        out.write(`#${s.info.id} ${status} ${s.info.name}\n`);
        if (s.status !== "base") out.write(`     key ${s.key}\n`);
        if (s.explanation) out.write(`     cache miss: ${s.explanation}\n`);
      }
      return 0;
    }
    if (v.iidfile) await writeFile(resolve(io.cwd, v.iidfile), result.imageId!);
    if (quiet) io.stdout.write(`${result.imageId}\n`);
    return 0;
  } finally {
    if (!ok) r.finish(false);
  }
}
