// plan/stages.ts: the stage graph. Splits decoded commands into the global ARGs and the
// stages, validates stage names (case-insensitive, unique, not reserved), and resolves a
// `--target`, FROM <stage> and `--from=<name|index>` to stage indices.
import { TbuildError, didYouMean, type SourceLocation } from "../util/index.js";
import type { ArgCommand, Command, FromCommand } from "../dockerfile/index.js";

/** Names a stage may not take: they mean something else in FROM and --from. */
export const RESERVED_STAGE_NAMES: ReadonlySet<string> = new Set(["scratch", "context"]);
const STAGE_NAME_RE = /^[a-z][a-z0-9_.-]*$/;

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
}

/** Split commands at each FROM. Only ARG may come before the first FROM. */
export function splitStages(commands: readonly Command[], file: string): StageSplit {
  const globals: ArgCommand[] = [];
  const stages: { index: number; name: string | undefined; from: FromCommand; commands: Command[]; location: SourceLocation }[] = [];
  const names = new Map<string, number>();
  for (const c of commands) {
    const location = { file, range: c.range };
    if (c.kind === "from") {
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
  return { globals, stages };
}

/** Find a stage by name (case-insensitive) among `stages`, or by decimal index. */
export function findStage(stages: readonly StageDecl[], ref: string): number | undefined {
  const lower = ref.toLowerCase();
  const byName = stages.find((s) => s.name === lower);
  if (byName) return byName.index;
  if (/^\d+$/.test(ref)) {
    const i = Number(ref);
    return i < stages.length ? i : undefined;
  }
  return undefined;
}

/** The stage `--target` names (default: the last). Throws E_PLAN_NO_STAGE with a suggestion. */
export function resolveTarget(stages: readonly StageDecl[], target: string | undefined): number {
  if (target === undefined || target === "") return stages.length - 1;
  const lower = target.toLowerCase();
  const found = stages.find((s) => s.name === lower);
  if (found) return found.index;
  const names = stages.flatMap((s) => (s.name ? [s.name] : []));
  throw new TbuildError("E_PLAN_NO_STAGE", `target stage ${JSON.stringify(target)} could not be found`, {
    hint: didYouMean(lower, names) ?? (names.length ? `stages: ${names.join(", ")}` : "the Dockerfile names no stages (use FROM IMAGE AS NAME)"),
  });
}
