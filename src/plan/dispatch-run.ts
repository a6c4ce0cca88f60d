// plan/dispatch-run.ts: RUN → RunStep. The argv is the shell + command text as written
// (heredocs folded in the way BuildKit does), never expanded here; the key covers the whole
// execution definition: argv, env (ENV + ARGs, proxies out, by digest), cwd, user, mounts,
// network. What lists the environment (the step's env, its summary and history line) is
// read through getters over a view of a snapshot, built on first read and shared by the RUNs
// between two changes, so a RUN costs the same however many variables are set.
import { defineGetters, withLocation } from "../util/index.js";
import { chompHeredoc, type Mount, type RunCommand } from "../dockerfile/index.js";
import { formatEnvList, parseEnvList, processWord, type Environment } from "../shell/index.js";
import type { HistoryEntry } from "../image/index.js";
import { PROXY_ARGS, runEnv } from "./args.js";
import { DEFAULT_PATH, DEFAULT_SHELL, resolveWorkdir } from "./config.js";
import { history, type DispatchOrigin, wordEnv } from "./dispatch.js";
import { computeStepKey, type MountPreimage, type RunPreimage } from "./keys.js";
import { SMALL_ENV, type EnvSnapshot } from "./stage-env.js";
import { snapshotConfig, type PlannerServices, type StageState } from "./state.js";
import type { RunMount, RunStep, Step } from "./steps.js";

/**
 * RUN's environment at one point of a stage, worked out from a snapshot on first read and
 * kept: consecutive RUNs with no ARG or ENV between them share one view (see viewOf).
 */
class RunEnvView {
  private lists: { readonly keyed: Environment; readonly full: Environment; readonly envLength: number } | undefined;
  private keyed: readonly string[] | undefined;
  private names: readonly string[] | undefined;
  private prefix: string | undefined;
  private summary: string | undefined;

  constructor(private readonly snap: EnvSnapshot, private readonly proxies: Environment) {}

  private get(): NonNullable<RunEnvView["lists"]> {
    if (!this.lists) {
      const imageEnv = parseEnvList(this.snap.env());
      const args = this.snap.args().filter((a) => a.value !== undefined).map((a) => ({ key: a.key, value: a.value! }));
      const { keyed, full } = runEnv(args, imageEnv, this.proxies);
      this.lists = { keyed, full, envLength: imageEnv.length };
    }
    return this.lists;
  }

  /** What the command runs with (proxies included). */
  full(): Environment {
    return this.get().full;
  }

  /** The `K=V` list the key's digests cover: Env entries, then ARG values (see RunPreimage). */
  keyEnv(): readonly string[] {
    return (this.keyed ??= formatEnvList(this.get().keyed));
  }

  argNames(): readonly string[] {
    return (this.names ??= this.get().keyed.slice(this.get().envLength).map((e) => e.key));
  }

  /** BuildKit's history prefix: `|N K=V… ` with the stage's declared ARGs (proxies out), or "". */
  historyPrefix(): string {
    if (this.prefix === undefined) {
      const argList = this.snap.args().filter((a) => !PROXY_ARGS.has(a.key));
      if (argList.length === 0) this.prefix = "";
      else {
        const envNow = new Map(this.full().map((e) => [e.key, e.value] as const));
        this.prefix = `|${argList.length} ${argList.map((a) => `${a.key}=${envNow.get(a.key) ?? a.value ?? ""}`).join(" ")} `;
      }
    }
    return this.prefix;
  }

  /** The summary's env part. The default PATH is left out: it is in nearly every step. */
  summaryEnv(): string {
    if (this.summary === undefined) {
      const envText = this.get().keyed.filter((e) => !(e.key === "PATH" && e.value === DEFAULT_PATH)).map((e) => `${e.key}=${e.value}`);
      this.summary = `env ${envText.length ? envText.join(" ") : "(PATH only)"}`;
    }
    return this.summary;
  }
}

/** The view of each `StageEnv.snapshot()`: one per environment state, not per RUN. */
const views = new WeakMap<EnvSnapshot, RunEnvView>();

function viewOf(snap: EnvSnapshot, proxies: Environment): RunEnvView {
  let view = views.get(snap);
  if (!view) {
    view = new RunEnvView(snap, proxies);
    views.set(snap, view);
  }
  return view;
}

/** BuildKit's history form: `RUN |N K=V… <argv> # buildkit` with the stage's ARGs. */
function runHistory(view: RunEnvView, argvText: string): string {
  return `RUN ${view.historyPrefix()}${argvText} # buildkit`;
}

/**
 * `head; env …; tail` (tail empty or starting with "; "). `varCount`: how many variables the
 * key covers, listed up to SMALL_ENV and counted past it: every `tbuild plan` line reads a
 * summary, and listing thousands of variables per RUN made it cost steps × variables again.
 */
function runSummary(view: RunEnvView, varCount: number, head: string, tail: string): string {
  return `${head}; ${varCount > SMALL_ENV ? `env ${varCount} variables` : view.summaryEnv()}${tail}`;
}

/**
 * Make the environment-listing fields of `step` and its history entry getters over `view`
 * (a module-level function: the getters must not keep dispatchRun's scope alive).
 */
function defineEnvFields(step: RunStep, h: HistoryEntry, view: RunEnvView, argvText: string, varCount: number, summaryHead: string, summaryTail: string): void {
  defineGetters(h, { created_by: () => runHistory(view, argvText) });
  defineGetters(step, {
    env: () => view.full(),
    argNames: () => view.argNames(),
    keyEnv: () => view.keyEnv(),
    summary: () => runSummary(view, varCount, summaryHead, summaryTail),
  });
}

/** The argv of a RUN, and the script file for a `#!` heredoc. */
function runArgv(st: StageState, cmd: RunCommand): { argv: string[]; script?: { path: string; content: string } } {
  const shell = [...(st.config.Shell ?? DEFAULT_SHELL)];
  if (cmd.form === "exec") return { argv: cmd.args.map((a) => a.value) };
  const line = cmd.args.map((a) => a.value).join(" ");
  const docs = cmd.heredocs;
  if (docs.length === 0) return { argv: [...shell, line] };
  const only = docs.length === 1 ? docs[0]! : undefined;
  if (only && /^\d*<<-?["']?[^\s]*$/.test(line.trim())) {
    // `RUN <<EOF`: the body is the script (BuildKit); a `#!` body is written to a file and run.
    const content = only.chomp ? chompHeredoc(only.content) : only.content;
    if (content.startsWith("#!")) {
      const path = `/dev/pipes/${only.name}`;
      return { argv: [path], script: { path, content } };
    }
    return { argv: [...shell, content] };
  }
  // Heredocs inside a longer command: hand the shell the whole text, bodies and terminators included.
  const script = [line, ...docs.map((d) => `${d.content}${d.name}`)].join("\n");
  return { argv: [...shell, script] };
}

async function resolveMount(svc: PlannerServices, st: StageState, m: Mount, location: RunStep["location"]): Promise<{ mount: RunMount; preimage: MountPreimage }> {
  const env = wordEnv(st);
  const x = (w: string | undefined): string | undefined => (w === undefined ? undefined : processWord(w, env, svc.shell));
  // BuildKit resolves a relative (or missing) target against the working directory.
  const rawTarget = x(m.target) ?? "";
  // A secret with env= and no target is exposed only as the variable: its target stays "".
  const envOnly = m.type === "secret" && rawTarget === "" && m.env !== undefined;
  const target = envOnly ? "" : resolveWorkdir(st.config.WorkingDir, rawTarget);
  const source = x(m.source);
  const fromValue = x(m.from);
  const out: { -readonly [K in keyof RunMount]?: RunMount[K] } = { type: m.type, target, readOnly: m.readOnly };
  const pre: { -readonly [K in keyof MountPreimage]?: MountPreimage[K] } = { type: m.type, target, readOnly: m.readOnly };
  if (source !== undefined) out.source = pre.source = source;
  for (const k of ["id", "sharing", "mode", "uid", "gid", "size", "required", "env"] as const) {
    const v = k === "id" ? x(m.id) : m[k];
    if (v !== undefined) {
      (out as Record<string, unknown>)[k] = v;
      (pre as Record<string, unknown>)[k] = v;
    }
  }
  if (fromValue !== undefined && (m.type === "bind" || m.type === "cache")) {
    const r = await svc.resolveFrom(st, fromValue, { file: location.file, range: m.flag.range });
    out.from = r.source;
    pre.from = r.keyPart;
  } else if (m.type === "bind") {
    // A bind of the build context: keyed by the content of what it selects.
    const h = await svc.hasher.hash({ sources: [source ?? "."], exclude: [], parents: false, followPaths: true });
    out.contentDigest = h.digest;
    pre.from = h.digest;
  }
  return { mount: out as RunMount, preimage: pre as MountPreimage };
}

export async function dispatchRun(svc: PlannerServices, st: StageState, cmd: RunCommand, origin: DispatchOrigin): Promise<Step> {
  const { argv, script } = runArgv(st, cmd);
  const mounts: RunMount[] = [];
  const mountPre: MountPreimage[] = [];
  for (const m of cmd.mounts) {
    try {
      const r = await resolveMount(svc, st, m, origin.location);
      mounts.push(r.mount);
      mountPre.push(r.preimage);
    } catch (e) {
      throw withLocation(e, { file: origin.location.file, range: m.flag.range });
    }
  }
  const cwd = st.config.WorkingDir || "/";
  const user = st.config.User ?? "";
  const network = cmd.network ?? "default";
  const security = cmd.security ?? "sandbox";
  const envDigests = st.vars.keyDigests();
  const preimage: RunPreimage = {
    kind: "run", parent: st.key, argv, env: envDigests.env, args: envDigests.args, cwd, user, mounts: mountPre, network, security,
    script: script ?? null,
  };
  st.key = computeStepKey(preimage);
  const extras: string[] = [];
  if (mounts.length) extras.push(`mounts ${mounts.map((m) => `${m.type}:${m.target}`).join(",")}`);
  if (network !== "default") extras.push(`network ${network}`);
  if (security !== "sandbox") extras.push(`security ${security}`);
  const head = `argv ${JSON.stringify(argv)}; cwd ${cwd}; user ${user || "(default)"}`;
  const tail = extras.length ? `; ${extras.join("; ")}` : "";
  const view = viewOf(st.vars.snapshot(), svc.buildArgs.proxies());
  const h = history("", true);
  st.history.push(h);
  // The env fields are placeholders here (they keep their place among the keys) and getters below.
  const step: RunStep = {
    kind: "run", argv, form: cmd.form, env: [], argNames: [], keyEnv: [],
    cwd, user, mounts, network, security,
    ...(script ? { script } : {}),
    stage: st.index, index: st.steps.length, location: origin.location, text: cmd.node.line,
    ...(origin.trigger ? { trigger: true } : {}),
    key: st.key, preimage, summary: "", layer: true, history: h, config: snapshotConfig(st),
  };
  defineEnvFields(step, h, view, argv.join(" "), st.vars.keyedCount(), head, tail);
  st.steps.push(step);
  return step;
}
