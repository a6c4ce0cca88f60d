// plan/stages.ts: the stage graph. Splits decoded commands into the global ARGs and the
// stages, validates stage names (case-insensitive, unique, not reserved), and resolves a
// `--target`, FROM <stage> and `--from=<name|index>` to stage indices.
import { TbuildError, didYouMean, type SourceLocation } from "../util/index.js";
import type { ArgCommand, Command, FromCommand } from "../dockerfile/index.js";

/** Names a stage may not take: they mean something else in FROM and --from. */
export const RESERVED_STAGE_NAMES: ReadonlySet<string> = new Set(["scratch", "context"]);
const STAGE_NAME_RE = /^[a-z][a-z0-9_.-]*$/;

/**
 * The most stages one Dockerfile may have (E_PARSE_LIMIT at the first FROM past it).
 * BuildKit has no such limit; real Dockerfiles use a handful and rarely reach 100. It bounds
 * planning time and memory: a stage built FROM another carries all of its ancestors'
 * history, so a chain of N stages plans O(N^2) history entries (5,000 chained stages with
 * a RUN each plan in about 1 s; the 16 MiB file limit alone would admit ~800,000 stages).
 */
export const MAX_STAGES = 5000;

export interface StageDecl {
  readonly index: number;
  /** Lowercased `AS` name. */
  readonly name: string | undefined;
  readonly from: FromCommand;
  readonly commands: readonly Command[];
  readonly location: SourceLocation;
}

export interface StageSplit {
  readonly globals: readonly ArgCommand[];
  readonly stages: readonly StageDecl[];
  /** Lowercased stage name → index, so a lookup costs O(1) however many stages there are. */
  readonly byName: ReadonlyMap<string, number>;
}

/** Split commands at each FROM. Only ARG may come before the first FROM. */
export function splitStages(commands: readonly Command[], file: string): StageSplit {
  const globals: ArgCommand[] = [];
  const stages: { index: number; name: string | undefined; from: FromCommand; commands: Command[]; location: SourceLocation }[] = [];
  const names = new Map<string, number>();
  for (const c of commands) {
    const location = { file, range: c.range };
    if (c.kind === "from") {
      if (stages.length === MAX_STAGES) {
        throw new TbuildError("E_PARSE_LIMIT", `the Dockerfile has more than ${MAX_STAGES} stages`, { location, hint: "split it into several Dockerfiles, or build part of it as an image and FROM that" });
      }
      let name: string | undefined;
      if (c.stageName) {
        name = c.stageName.value.toLowerCase();
        const at = { file, range: c.stageName.range };
        if (!STAGE_NAME_RE.test(name)) {
          throw new TbuildError("E_PLAN_INVALID", `invalid name for build stage: ${JSON.stringify(c.stageName.value)}, name can't start with a number or contain symbols`, { location: at, hint: "use letters, digits, '-', '_' and '.', starting with a letter" });
        }
        if (RESERVED_STAGE_NAMES.has(name)) {
          throw new TbuildError("E_PLAN_INVALID", `${JSON.stringify(name)} is a reserved name and cannot be used as a stage name`, { location: at, hint: "pick another name" });
        }
        const prev = names.get(name);
        if (prev !== undefined) {
          throw new TbuildError("E_PLAN_DUPLICATE_STAGE", `duplicate stage name ${JSON.stringify(name)} (also stage #${prev})`, { location: at, hint: "stage names are case-insensitive and must be unique" });
        }
        names.set(name, stages.length);
      }
      stages.push({ index: stages.length, name, from: c, commands: [], location });
      continue;
    }
    const cur = stages[stages.length - 1];
    if (cur) cur.commands.push(c);
    else if (c.kind === "arg") globals.push(c);
    else {
      throw new TbuildError("E_PLAN_INVALID", `${c.node.keyword.text.toUpperCase()} before the first FROM: no build stage in current context`, { location, hint: "only ARG may come before the first FROM" });
    }
  }
  if (stages.length === 0) {
    throw new TbuildError("E_PLAN_INVALID", "the Dockerfile has no FROM instruction", { location: { file, range: commands[0]?.range ?? { start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } } }, hint: "start a stage with FROM IMAGE or FROM scratch" });
  }
  return { globals, stages, byName: names };
}

/** Find a stage by name (case-insensitive), or by decimal index. */
export function findStage(split: StageSplit, ref: string): number | undefined {
  const byName = split.byName.get(ref.toLowerCase());
  if (byName !== undefined) return byName;
  if (/^\d+$/.test(ref)) {
    const i = Number(ref);
    return i < split.stages.length ? i : undefined;
  }
  return undefined;
}

/** The stage `--target` names (default: the last). Throws E_PLAN_NO_STAGE with a suggestion. */
export function resolveTarget(split: StageSplit, target: string | undefined): number {
  const { stages } = split;
  if (target === undefined || target === "") return stages.length - 1;
  const lower = target.toLowerCase();
  const found = split.byName.get(lower);
  if (found !== undefined) return found;
  const names = stages.flatMap((s) => (s.name ? [s.name] : []));
  throw new TbuildError("E_PLAN_NO_STAGE", `target stage ${JSON.stringify(target)} could not be found`, {
    hint: didYouMean(lower, names) ?? (names.length ? `stages: ${names.join(", ")}` : "the Dockerfile names no stages (use FROM IMAGE AS NAME)"),
  });
}
