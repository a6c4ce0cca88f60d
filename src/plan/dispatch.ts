// plan/dispatch.ts: one decoded instruction → one Step, updating the stage's config, ARG
// scope and file-system key (BuildKit's dispatch* functions). Words are expanded here, in
// exactly the instructions Docker expands them in; RUN text is left to the shell.
import { MAX_PATH_BYTES, TbuildError, exceedsPathMax, type SourceLocation } from "../util/index.js";
import type { Command, CmdCommand, EnvCommand, ArgCommand, HealthcheckCommand, OnbuildCommand, ShellCommand, SimpleCommand, ListCommand } from "../dockerfile/index.js";
import { processWord, processWords } from "../shell/index.js";
import type { HealthConfig, HistoryEntry } from "../image/index.js";
import { PROXY_ARGS } from "./args.js";
import { DEFAULT_SHELL, HISTORY_COMMENT, formatDuration, goQList, goVList, goVSet, parsePorts, resolveWorkdir } from "./config.js";
import { computeStepKey } from "./keys.js";
import { snapshotConfig, syncEnv, type PlannerServices, type StageState } from "./state.js";
import type { ConfigInstruction, Step } from "./steps.js";
import { dispatchCopy } from "./dispatch-copy.js";
import { dispatchRun } from "./dispatch-run.js";

/** How the step came to be: an instruction of the stage, or an ONBUILD trigger of its base. */
export interface DispatchOrigin {
  readonly location: SourceLocation;
  readonly trigger: boolean;
}

/**
 * The environment words are expanded with at this point of the stage: ARG values overlaid
 * by the image's Env (ENV always wins over an ARG of the same name). Live and shared, not
 * rebuilt per word: read it before the instruction changes the stage.
 */
export function wordEnv(st: StageState): ReadonlyMap<string, string> {
  return st.vars.wordEnv();
}

/** Expand one word (quote removal + $VAR), as BuildKit's ProcessWord. */
export function expand(svc: PlannerServices, st: StageState, word: string): string {
  return processWord(word, wordEnv(st), svc.shell);
}

export function history(createdBy: string, layer: boolean): HistoryEntry {
  return layer ? { created_by: createdBy, comment: HISTORY_COMMENT } : { created_by: createdBy, comment: HISTORY_COMMENT, empty_layer: true };
}

/** Record a config-only step. */
function configStep(st: StageState, origin: DispatchOrigin, cmd: Command, instruction: ConfigInstruction, createdBy: string, summary: string): Step {
  const h = history(createdBy, false);
  st.history.push(h);
  const step: Step = {
    kind: "config", instruction, stage: st.index, index: st.steps.length, location: origin.location, text: cmd.node.line,
    ...(origin.trigger ? { trigger: true } : {}),
    key: st.key, preimage: null, summary, layer: false, history: h, config: snapshotConfig(st),
  };
  st.steps.push(step);
  return step;
}

/** Dispatch one instruction of a stage (never FROM: stages.ts handles that). */
export async function dispatch(svc: PlannerServices, st: StageState, cmd: Command, origin: DispatchOrigin): Promise<Step> {
  switch (cmd.kind) {
    case "from":
      throw new TbuildError("E_PLAN_INVALID", "FROM is not allowed here", { hint: "ONBUILD triggers cannot be FROM" });
    case "run": return dispatchRun(svc, st, cmd, origin);
    case "copy": case "add": return dispatchCopy(svc, st, cmd, origin);
    case "workdir": return dispatchWorkdir(svc, st, cmd, origin);
    case "env": case "label": return dispatchEnvLabel(svc, st, cmd, origin);
    case "arg": return dispatchArg(svc, st, cmd, origin);
    case "cmd": case "entrypoint": return dispatchCmd(st, cmd, origin);
    case "shell": return dispatchShell(st, cmd, origin);
    case "healthcheck": return dispatchHealthcheck(st, cmd, origin);
    case "onbuild": return dispatchOnbuild(st, cmd, origin);
    case "user": case "stopsignal": case "maintainer": return dispatchSimple(svc, st, cmd, origin);
    case "expose": case "volume": return dispatchList(svc, st, cmd, origin);
  }
}

function dispatchWorkdir(svc: PlannerServices, st: StageState, cmd: SimpleCommand, origin: DispatchOrigin): Step {
  const raw = expand(svc, st, cmd.value.value);
  if (raw === "") throw new TbuildError("E_PARSE_MISSING_ARGS", "WORKDIR requires a path", { hint: "write WORKDIR /path" });
  const path = resolveWorkdir(st.config.WorkingDir, raw);
  if (exceedsPathMax(path)) {
    throw new TbuildError("E_PLAN_INVALID", `WORKDIR resolves to a path longer than ${MAX_PATH_BYTES} bytes, which Linux cannot create or enter: ${path.slice(0, 60)}…`, {
      hint: "use a shorter path: an absolute WORKDIR, or `..` to leave nested directories",
    });
  }
  st.config.WorkingDir = path;
  const user = st.config.User ?? "";
  const layer = path !== "/";
  const preimage = layer ? { kind: "workdir" as const, parent: st.key, path, user } : null;
  if (preimage) st.key = computeStepKey(preimage);
  const h = history(`WORKDIR ${path}`, layer);
  st.history.push(h);
  const step: Step = {
    kind: "workdir", path, user, stage: st.index, index: st.steps.length, location: origin.location, text: cmd.node.line,
    ...(origin.trigger ? { trigger: true } : {}),
    key: st.key, preimage, summary: `mkdir ${path}${user ? ` owned by ${user}` : ""}${layer ? "" : " (root: no layer)"}`, layer, history: h, config: snapshotConfig(st),
  };
  st.steps.push(step);
  return step;
}

function dispatchEnvLabel(svc: PlannerServices, st: StageState, cmd: EnvCommand, origin: DispatchOrigin): Step {
  // All pairs of one instruction see the environment from before it (Docker's rule).
  const env = wordEnv(st);
  const pairs = cmd.pairs.map((p) => ({ key: processWord(p.key, env, svc.shell), value: processWord(p.value, env, svc.shell) }));
  if (cmd.kind === "env") {
    st.vars.setEnv(pairs);
    syncEnv(st);
  } else {
    st.maps.update("Labels", pairs.map((p) => [p.key, p.value] as const));
  }
  const text = pairs.map((p) => `${p.key}=${p.value}`).join(" ");
  return configStep(st, origin, cmd, cmd.kind, `${cmd.kind.toUpperCase()} ${text}`, text);
}

function dispatchArg(svc: PlannerServices, st: StageState, cmd: ArgCommand, origin: DispatchOrigin): Step {
  const env = wordEnv(st);
  // Every pair is expanded before any is declared: all see the scope from before the ARG.
  const decls = cmd.pairs.map((p) => ({ key: processWord(p.key, env, svc.shell), def: p.value === undefined ? undefined : processWord(p.value, env, svc.shell) }));
  const shown: string[] = [];
  for (const { key, def } of decls) {
    const a = st.vars.declareArg(key, def, svc.buildArgs);
    if (!PROXY_ARGS.has(key)) shown.push(a.value === undefined ? key : `${key}=${a.value}`);
  }
  const text = shown.join(" ");
  return configStep(st, origin, cmd, "arg", `ARG ${text}`, text);
}

/** Shell form → the image's SHELL (default /bin/sh -c) + the command text; exec form as is. */
function commandArgv(st: StageState, form: "shell" | "exec", args: readonly { value: string }[]): string[] {
  if (form === "exec") return args.map((a) => a.value);
  const text = args.map((a) => a.value).join(" ");
  return [...(st.config.Shell ?? DEFAULT_SHELL), text];
}

function dispatchCmd(st: StageState, cmd: CmdCommand, origin: DispatchOrigin): Step {
  const argv = commandArgv(st, cmd.form, cmd.args);
  if (cmd.kind === "cmd") {
    st.config.Cmd = argv;
    st.cmdSet = true;
  } else {
    st.config.Entrypoint = argv;
    // BuildKit: an ENTRYPOINT clears a CMD inherited from the base, not one set in this stage.
    if (!st.cmdSet) st.config.Cmd = null;
  }
  return configStep(st, origin, cmd, cmd.kind, `${cmd.kind.toUpperCase()} ${goQList(argv)}`, JSON.stringify(argv));
}

function dispatchShell(st: StageState, cmd: ShellCommand, origin: DispatchOrigin): Step {
  const argv = cmd.args.map((a) => a.value);
  st.config.Shell = argv;
  return configStep(st, origin, cmd, "shell", `SHELL ${goVList(argv)}`, JSON.stringify(argv));
}

function dispatchHealthcheck(st: StageState, cmd: HealthcheckCommand, origin: DispatchOrigin): Step {
  let hc: HealthConfig;
  if (cmd.test === "none") hc = { Test: ["NONE"] };
  else {
    const c = cmd.command!;
    const test = c.form === "exec" ? ["CMD", ...c.args.map((a) => a.value)] : ["CMD-SHELL", c.args.map((a) => a.value).join(" ")];
    const ns = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.round(ms * 1e6));
    const v = cmd.values;
    hc = {
      Test: test,
      ...(v.interval !== undefined ? { Interval: ns(v.interval)! } : {}),
      ...(v.timeout !== undefined ? { Timeout: ns(v.timeout)! } : {}),
      ...(v.startPeriod !== undefined ? { StartPeriod: ns(v.startPeriod)! } : {}),
      ...(v.startInterval !== undefined ? { StartInterval: ns(v.startInterval)! } : {}),
      ...(v.retries !== undefined ? { Retries: v.retries } : {}),
    };
  }
  st.config.Healthcheck = hc;
  const d = (n: number | undefined): string => JSON.stringify(formatDuration(n ?? 0));
  const retries = `'\\x${(hc.Retries ?? 0).toString(16).padStart(2, "0")}'`;
  const createdBy = `HEALTHCHECK &{${goQList(hc.Test ?? [])} ${d(hc.Interval)} ${d(hc.Timeout)} ${d(hc.StartPeriod)} ${d(hc.StartInterval)} ${retries}}`;
  return configStep(st, origin, cmd, "healthcheck", createdBy, JSON.stringify(hc.Test));
}

function dispatchOnbuild(st: StageState, cmd: OnbuildCommand, origin: DispatchOrigin): Step {
  st.maps.addTrigger(cmd.expression);
  return configStep(st, origin, cmd, "onbuild", `ONBUILD ${cmd.expression}`, cmd.expression);
}

function dispatchSimple(svc: PlannerServices, st: StageState, cmd: SimpleCommand, origin: DispatchOrigin): Step {
  if (cmd.kind === "maintainer") {
    // Not expanded (Docker's list of expanding instructions leaves it out); goes to `author`.
    st.author = cmd.value.value;
    return configStep(st, origin, cmd, "maintainer", `MAINTAINER ${cmd.value.value}`, cmd.value.value);
  }
  const v = expand(svc, st, cmd.value.value);
  if (cmd.kind === "user") {
    // An ARG that expands to nothing leaves the user empty (root), as BuildKit does.
    st.config.User = v;
    return configStep(st, origin, cmd, "user", `USER ${v}`, v);
  }
  if (!/^(SIG[A-Z0-9+-]+|[0-9]+)$/i.test(v)) throw new TbuildError("E_PLAN_INVALID", `invalid STOPSIGNAL ${JSON.stringify(v)}`, { hint: "write a signal name such as SIGTERM or a number" });
  st.config.StopSignal = v;
  return configStep(st, origin, cmd, "stopsignal", `STOPSIGNAL ${v}`, v);
}

function dispatchList(svc: PlannerServices, st: StageState, cmd: ListCommand, origin: DispatchOrigin): Step {
  const env = wordEnv(st);
  if (cmd.kind === "expose") {
    const words = cmd.values.flatMap((a) => processWords(a.value, env, svc.shell));
    const ports = words.flatMap(parsePorts);
    st.maps.update("ExposedPorts", ports.map((p) => [p, {}] as const));
    return configStep(st, origin, cmd, "expose", `EXPOSE ${goVSet(ports)}`, [...new Set(ports)].join(" "));
  }
  const paths = cmd.values.map((a) => processWord(a.value, env, svc.shell));
  if (paths.some((p) => p.trim() === "")) throw new TbuildError("E_PLAN_INVALID", "VOLUME specified can not be an empty string", { hint: "remove the empty path" });
  st.maps.update("Volumes", paths.map((p) => [p, {}] as const));
  return configStep(st, origin, cmd, "volume", `VOLUME ${goVList(paths)}`, paths.join(" "));
}
