// plan/plan.ts: planBuild, the planner's entry point (BuildKit's Dockerfile2LLB without the
// LLB): text → decoded commands → stage graph → steps with expanded words and cache keys.
// Pure: base images and context hashes come through the ports; nothing is read or run.
import { TbuildError, defineGetters, withLocation, type Diagnostic, type Digest, type SourceLocation } from "../util/index.js";
import { decodeDockerfileStrict, parseDockerfile, type Command, type ParseResult } from "../dockerfile/index.js";
import { processWord, type ShellOptions } from "../shell/index.js";
import { formatPlatform, normalizeReference, parsePlatform, type ContainerConfig, type HistoryEntry, type Platform } from "../image/index.js";
import { ArgScope, BuildArgs, parseBuildArgs, platformArgs } from "./args.js";
import { withDefaultPath, type MutableConfig } from "./config.js";
import { dispatch, type DispatchOrigin } from "./dispatch.js";
import { computeStepKey, type FromPreimage } from "./keys.js";
import { parseTriggers } from "./onbuild.js";
import type { BaseImageResolver, ResolvedImage, SourceHasher } from "./ports.js";
import { StageEnv } from "./stage-env.js";
import { ConfigMaps } from "./config-maps.js";
import { findStage, resolveTarget, splitStages, type StageDecl, type StageSplit } from "./stages.js";
import { snapshotConfig, type PlannerServices, type ResolvedSource, type StageState } from "./state.js";
import type { FromStep, Plan, PlanStage, StageSource } from "./steps.js";

/** Everything a plan needs besides the Dockerfile itself. */
export interface PlanOptions {
  /** `--build-arg` values: `K=V` or bare `K` (taken from `environ`), or a map. */
  readonly buildArgs?: readonly string[] | Readonly<Record<string, string>>;
  /** Where a bare `--build-arg K` takes its value (the CLI passes the process environment). */
  readonly environ?: Readonly<Record<string, string | undefined>>;
  /** `--target`: a stage name (default: the last stage). */
  readonly target?: string;
  /** The host platform, e.g. linux/amd64: the only one a build may run on. */
  readonly platform: Platform;
  readonly resolver: BaseImageResolver;
  readonly hasher: SourceHasher;
}

export interface PlanInput extends PlanOptions {
  /** The Dockerfile's text. */
  readonly dockerfile: string;
  /** Its name in locations (default `Dockerfile`). */
  readonly file?: string;
}

/** Plan a build: every step of the target and the stages it needs, keyed. Throws TbuildError. */
export async function planBuild(input: PlanInput): Promise<Plan> {
  return planParsed(parseDockerfile(input.dockerfile, { file: input.file ?? "Dockerfile" }), input);
}

/**
 * planBuild for an already parsed Dockerfile (a build parses once for its checks and its
 * plan); locations name the parsed file. Throws TbuildError.
 */
export async function planParsed(parsed: ParseResult, options: PlanOptions): Promise<Plan> {
  return new Planner(parsed, options).run();
}

/**
 * Stages in Dockerfile order, except that each comes after the stages it depends on. A
 * depth-first walk with its own stack: a chain of thousands of stages must not overflow
 * the call stack.
 */
function topoOrder(stages: readonly PlanStage[]): PlanStage[] {
  const byIndex = new Map(stages.map((s) => [s.index, s] as const));
  const out: PlanStage[] = [];
  const seen = new Set<number>();
  for (const root of [...stages].sort((a, b) => a.index - b.index)) {
    if (seen.has(root.index)) continue;
    seen.add(root.index);
    const stack: { stage: PlanStage; next: number }[] = [{ stage: root, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const d = top.stage.dependsOn[top.next++];
      if (d === undefined) {
        out.push(top.stage);
        stack.pop();
      } else if (!seen.has(d)) {
        seen.add(d);
        stack.push({ stage: byIndex.get(d)!, next: 0 });
      }
    }
  }
  return out;
}

/**
 * A stage's history: its base's entries, then its own. The base's are shared, not copied:
 * a chain of k stages each FROM the one before copied 1 + 2 + … + k entries. The full list
 * is made when first read (a plan's reader usually wants the target's only), walking up
 * the chain with a loop (thousands of stages) to the nearest list already made.
 */
class StageHistory {
  private full: readonly HistoryEntry[] | undefined;

  constructor(private readonly base: StageHistory | readonly HistoryEntry[], private readonly own: readonly HistoryEntry[]) {}

  entries(): readonly HistoryEntry[] {
    if (this.full) return this.full;
    const chain: StageHistory[] = [];
    let at: StageHistory | readonly HistoryEntry[] = this;
    while (at instanceof StageHistory && at.full === undefined) {
      chain.push(at);
      at = at.base;
    }
    const out = (at instanceof StageHistory ? at.full! : at).slice();
    for (let i = chain.length - 1; i >= 0; i--) for (const h of chain[i]!.own) out.push(h);
    this.full = out;
    return out;
  }
}

/**
 * `stage` with `history` as a getter over `h` alone. A getter written in the planner's own
 * object literal would keep the planner's whole scope (the parsed file, every stage's state)
 * alive as long as the plan: the corpus planned 25% slower, mostly in the collector. (Object
 * spread would call the getter: the list must stay lazy for long FROM chains.)
 */
function withLazyHistory<T extends object>(stage: T, h: StageHistory): T & { readonly history: readonly HistoryEntry[] } {
  const out = stage as T & { readonly history: readonly HistoryEntry[] };
  defineGetters<{ readonly history: readonly HistoryEntry[] }>(out, { history: () => h.entries() });
  return out;
}

/** The platforms are the same when os, architecture and variant (missing = "") agree. */
function samePlatform(a: Platform, b: Platform): boolean {
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? "") === (b.variant ?? "");
}

class Planner implements PlannerServices {
  readonly file: string;
  readonly hasher: SourceHasher;
  readonly buildArgs: BuildArgs;
  shell: ShellOptions = {};
  private readonly diagnostics: Diagnostic[] = [];
  private readonly global = new ArgScope();
  private split: StageSplit = { globals: [], stages: [], byName: new Map() };
  private escapeChar: "\\" | "`" = "\\";
  private readonly done = new Map<number, Promise<PlanStage>>();
  private readonly inProgress = new Set<number>();
  private readonly images = new Map<string, Promise<ResolvedImage | undefined>>();
  /** Each planned stage's history, by index. */
  private readonly histories = new Map<number, StageHistory>();

  constructor(private readonly parsed: ParseResult, private readonly input: PlanOptions) {
    this.file = parsed.ast.file;
    this.hasher = input.hasher;
    this.buildArgs = new BuildArgs(parseBuildArgs(input.buildArgs ?? [], input.environ ?? {}));
  }

  warn(d: Diagnostic): void {
    this.diagnostics.push(d);
  }

  async run(): Promise<Plan> {
    const parsed = this.parsed;
    for (const d of parsed.diagnostics) if (d.severity !== "error") this.diagnostics.push(d);
    this.escapeChar = parsed.ast.escapeChar;
    this.shell = { escapeToken: parsed.ast.escapeChar };
    if (parsed.ast.instructions.length === 0) throw new TbuildError("E_PARSE_EMPTY", "the Dockerfile has no instructions", { hint: "start with FROM IMAGE" });
    const commands = decodeDockerfileStrict(parsed);
    this.split = splitStages(commands, this.file);
    const { globals } = this.split;
    // Global scope: BuildKit's platform ARGs, then the ARGs before the first FROM.
    this.global.define(platformArgs(this.input.platform, this.input.platform));
    for (const g of globals) {
      try {
        // All pairs are expanded with the scope from before the ARG, then declared.
        const env = this.global.values();
        const decls = g.pairs.map((p) => ({ key: processWord(p.key, env, this.shell), def: p.value === undefined ? undefined : processWord(p.value, env, this.shell) }));
        for (const d of decls) this.global.declare(d.key, d.def, this.buildArgs);
      } catch (e) {
        throw withLocation(e, { file: this.file, range: g.range });
      }
    }
    const target = resolveTarget(this.split, this.input.target);
    await this.planStage(target);
    const planned = topoOrder(await Promise.all([...this.done.values()]));
    for (const k of this.buildArgs.unused()) {
      this.warn({ severity: "warning", code: "UnusedBuildArg", message: `build-arg ${k} was not consumed by any ARG`, hint: `declare it with ARG ${k}, or drop --build-arg ${k}` });
    }
    return { file: this.file, stages: planned, target, platform: formatPlatform(this.input.platform), diagnostics: this.diagnostics };
  }

  /**
   * Plan a stage once. Each stage starts in a job of its own (after a resolved promise), so
   * a chain of N stages (FROM <stage>, --from=<stage>) is N promises waiting on each other,
   * not N nested calls: the call stack stays flat however long the chain is.
   */
  private planStage(index: number): Promise<PlanStage> {
    let p = this.done.get(index);
    if (!p) {
      this.inProgress.add(index);
      const decl = this.split.stages[index]!;
      p = Promise.resolve().then(() => this.planStageNow(decl)).finally(() => this.inProgress.delete(index));
      this.done.set(index, p);
    }
    return p;
  }

  private resolveImage(ref: string): Promise<ResolvedImage | undefined> {
    let p = this.images.get(ref);
    if (!p) {
      p = this.input.resolver.resolve(ref, this.input.platform);
      this.images.set(ref, p);
    }
    return p;
  }

  private normalize(ref: string, location: SourceLocation): string {
    try {
      return normalizeReference(ref);
    } catch (e) {
      throw withLocation(e, location);
    }
  }

  private readonly warnedRefs = new Set<string>();

  private unresolvedWarning(ref: string, location: SourceLocation): void {
    if (this.warnedRefs.has(ref)) return;
    this.warnedRefs.add(ref);
    this.warn({ severity: "warning", code: "BaseImageUnresolved", message: `image ${ref} is not known: planned with an empty config and a key from its name only`, location, hint: "pull the image first for exact keys" });
  }

  async resolveFrom(st: StageState, value: string, location: SourceLocation): Promise<ResolvedSource> {
    const j = findStage(this.split, value);
    if (j !== undefined) {
      if (j === st.index || this.inProgress.has(j)) {
        throw new TbuildError("E_PLAN_CYCLE", `circular dependency detected on stage: ${value}`, { location, hint: j === st.index ? "a stage cannot copy from itself" : "stages may not depend on each other in a loop" });
      }
      const s = await this.planStage(j);
      st.deps.add(j);
      return { source: { kind: "stage", stage: j }, keyPart: s.key };
    }
    if (value.toLowerCase() === "scratch") return { source: { kind: "scratch" }, keyPart: "scratch" };
    const ref = this.normalize(value, location);
    const img = await this.resolveImage(value);
    if (!img) this.unresolvedWarning(ref, location);
    return { source: { kind: "image", ref: img?.ref ?? ref, digest: img?.digest }, keyPart: img ? img.digest : `name:${ref}` };
  }

  private async planStageNow(decl: StageDecl): Promise<PlanStage> {
    const from = decl.from;
    const globalEnv = this.global.values();
    const fromLoc = decl.location;
    let imageName: string;
    let platform = this.input.platform;
    try {
      imageName = processWord(from.image.value, globalEnv, this.shell);
      if (from.platform?.value !== undefined) {
        const pv = processWord(from.platform.value, globalEnv, this.shell);
        const want = parsePlatform(pv);
        if (!samePlatform(want, this.input.platform)) {
          throw new TbuildError("E_PLAN_PLATFORM", `platform ${pv} is not supported: this build runs on ${formatPlatform(this.input.platform)} only`, {
            location: { file: this.file, range: from.platform.range },
            hint: `remove --platform or use --platform=${formatPlatform(this.input.platform)} ($BUILDPLATFORM)`,
          });
        }
        platform = want;
      }
    } catch (e) {
      throw withLocation(e, fromLoc);
    }
    if (imageName === "") throw new TbuildError("E_PLAN_INVALID", `base name (${from.image.value}) should not be blank`, { location: fromLoc, hint: "set the ARG it uses, or give it a default" });

    let base: StageSource;
    let config: ContainerConfig = {};
    let baseHistory: StageHistory | readonly HistoryEntry[] = [];
    let preimage: FromPreimage;
    let summary: string;
    const lower = imageName.toLowerCase();
    const named = this.split.byName.get(lower);
    const stageIdx = named !== undefined && named < decl.index ? named : -1;
    if (lower === "scratch") {
      base = { kind: "scratch" };
      preimage = { kind: "from", scratch: true };
      summary = "scratch";
    } else if (stageIdx >= 0) {
      const s = await this.planStage(stageIdx);
      base = { kind: "stage", stage: stageIdx };
      config = s.config;
      baseHistory = this.histories.get(stageIdx)!;
      preimage = { kind: "from", stage: stageIdx, stageKey: s.key };
      summary = `stage ${this.split.stages[stageIdx]!.name} (#${stageIdx})`;
    } else {
      const ref = this.normalize(imageName, fromLoc);
      const img = await this.resolveImage(imageName);
      if (img) {
        base = { kind: "image", ref: img.ref, digest: img.digest };
        config = img.config;
        baseHistory = img.history ?? [];
        preimage = { kind: "from", image: img.ref, digest: img.digest };
        summary = `image ${img.ref}@${img.digest}`;
      } else {
        this.unresolvedWarning(ref, fromLoc);
        base = { kind: "image", ref, digest: undefined };
        preimage = { kind: "from", image: ref, unresolved: true };
        summary = `image ${ref} (not resolved: empty config, key from the name)`;
      }
    }
    const triggers = config.OnBuild ?? [];
    const startConfig: MutableConfig = { ...withDefaultPath(config) };
    delete startConfig.OnBuild;
    if (triggers.length === 0 && config.OnBuild !== undefined) startConfig.OnBuild = config.OnBuild;
    const key: Digest = computeStepKey(preimage);
    const args = new ArgScope(this.global);
    const st: StageState = {
      index: decl.index, name: decl.name, file: this.file, config: startConfig, maps: new ConfigMaps(startConfig), args, vars: new StageEnv(startConfig.Env ?? [], args), key,
      cmdSet: false, author: undefined, steps: [], history: [], deps: new Set(base.kind === "stage" ? [base.stage] : []),
    };
    const fromStep: FromStep = {
      kind: "from", base, stage: decl.index, index: 0, location: fromLoc, text: from.node.line,
      key, preimage, summary, layer: false, history: null, config: snapshotConfig(st),
    };
    st.steps.push(fromStep);

    // ONBUILD triggers of the base run right after FROM, once; the child does not keep them.
    const run = async (cmd: Command, origin: DispatchOrigin): Promise<void> => {
      try {
        await dispatch(this, st, cmd, origin);
      } catch (e) {
        throw withLocation(e, origin.location);
      }
    };
    if (triggers.length > 0) {
      for (const cmd of parseTriggers(triggers, fromLoc, this.escapeChar)) await run(cmd, { location: fromLoc, trigger: true });
    }
    for (const cmd of decl.commands) await run(cmd, { location: { file: this.file, range: cmd.range }, trigger: false });

    const history = new StageHistory(baseHistory, st.history);
    this.histories.set(decl.index, history);
    const stage = withLazyHistory(
      {
        index: decl.index,
        ...(decl.name !== undefined ? { name: decl.name } : {}),
        base,
        platform: formatPlatform(platform),
        dependsOn: [...st.deps].sort((a, b) => a - b),
        steps: st.steps,
        key: st.key,
        config: snapshotConfig(st),
      },
      history,
    );
    return st.author !== undefined ? Object.assign(stage, { author: st.author }) : stage;
  }
}
