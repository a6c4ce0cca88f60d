// The view of a parsed Dockerfile the checks read: global ARGs, stages with their FROM
// parts (image, AS, name, --platform) and instructions, and a report function. Built once
// per file from the parser's AST.
import type { Arg, DockerfileAst, Flag, Instruction } from "../dockerfile/index.js";
import type { Range, SourceText } from "../util/index.js";
import type { SimpleCommand } from "./shell-script.js";
import type { LintOptions, TextEdit } from "./types.js";

/** One build stage. */
export interface Stage {
  readonly index: number;
  readonly from: Instruction;
  /** The base image word as written (`alpine:3.20`, `$BASE`, `build`). */
  readonly base?: Arg;
  /** The `AS` word and the stage name as written. */
  readonly asWord?: Arg;
  readonly nameWord?: Arg;
  /** The stage name, lowercased (BuildKit's stage.Name); "" when unnamed. */
  readonly name: string;
  readonly platform?: Flag;
  /** Instructions after FROM up to the next FROM (ONBUILD wrappers included as they are). */
  readonly instructions: readonly Instruction[];
  /** The stage it builds on when `base` names an earlier stage (after expansion), else undefined. */
  parent?: Stage;
}

export interface LintModel {
  readonly ast: DockerfileAst;
  readonly source: SourceText;
  readonly file: string;
  readonly options: LintOptions;
  /** ARG instructions before the first FROM. */
  readonly metaArgs: readonly Instruction[];
  readonly stages: readonly Stage[];
  /** Stage name → the indexes of the stages with that name, ascending (lint sees duplicates too). */
  readonly stagesByName: ReadonlyMap<string, readonly number[]>;
  /**
   * What several checks read of each RUN, computed on first use (checks/run-script.ts). Per
   * lint run, in a plain Map: a module-wide WeakMap of 100k instructions cost more than the
   * work it saved.
   */
  readonly runs: Map<Instruction, RunFacts>;
}

export interface RunFacts {
  commands?: readonly SimpleCommand[];
  argvs?: readonly (readonly string[])[];
}

/** A finding as a check reports it: the run loop adds file, severity, URL and suppression. */
export interface Report {
  (rule: string, at: Instruction, message: string, opts?: { range?: Range; fix?: readonly TextEdit[] }): void;
}

/** A check: reads the model, reports findings. Pure. */
export type Check = (m: LintModel, report: Report) => void;

/** Split the AST into global ARGs and stages. */
export function buildModel(ast: DockerfileAst, source: SourceText, file: string, options: LintOptions): LintModel {
  const metaArgs: Instruction[] = [];
  const stages: { index: number; from: Instruction; instructions: Instruction[]; base?: Arg; asWord?: Arg; nameWord?: Arg; name: string; platform?: Flag; parent?: Stage }[] = [];
  for (const ins of ast.instructions) {
    if (ins.kind === "from") {
      const s: (typeof stages)[number] = { index: stages.length, from: ins, instructions: [], name: "" };
      const [base, asWord, nameWord] = ins.args;
      if (base) s.base = base;
      if (asWord && nameWord && asWord.value.toLowerCase() === "as") {
        s.asWord = asWord;
        s.nameWord = nameWord;
        s.name = nameWord.value.toLowerCase();
      }
      const platform = ins.flags.find((f) => f.name === "platform");
      if (platform) s.platform = platform;
      stages.push(s);
    } else if (stages.length === 0) {
      if (ins.kind === "arg") metaArgs.push(ins);
    } else {
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  const stagesByName = new Map<string, number[]>();
  for (const s of stages) {
    if (s.name === "") continue;
    const list = stagesByName.get(s.name);
    if (list) list.push(s.index);
    else stagesByName.set(s.name, [s.index]);
  }
  return { ast, source, file, options, metaArgs, stages, stagesByName, runs: new Map() };
}

/**
 * The stage `ref` names among `stages[0..before)`: the last one with that name, else by
 * index. O(log n) through the name index, since every stage looks its base up.
 */
export function findStage(m: Pick<LintModel, "stages" | "stagesByName">, ref: string, before = m.stages.length): Stage | undefined {
  const named = m.stagesByName.get(ref.toLowerCase());
  if (named && named[0]! < before) {
    // The largest index below `before` (binary search over the ascending list).
    let lo = 0;
    let hi = named.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (named[mid]! < before) lo = mid;
      else hi = mid - 1;
    }
    return m.stages[named[lo]!];
  }
  if (/^\d+$/.test(ref)) {
    const n = Number(ref);
    if (n < before) return m.stages[n];
  }
  return undefined;
}

/**
 * The stages whose layers end up in the image a plain build produces: the last stage and
 * the stages it is built FROM. Layers of other stages (COPY --from sources) are thrown away,
 * so image-weight findings there do not matter.
 */
export function shippedStages(m: LintModel): ReadonlySet<Stage> {
  const out = new Set<Stage>();
  for (let s = m.stages[m.stages.length - 1]; s && !out.has(s); s = s.parent) out.add(s);
  return out;
}
