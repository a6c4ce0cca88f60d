// What a RUN instruction runs, as simple commands (shell form, heredoc bodies, or the exec
// form's argv), for the best-practice and image-weight checks.
import type { Instruction } from "../../dockerfile/index.js";
import type { LintModel, RunFacts } from "../model.js";
import { argv, splitCommands, withoutSudo, type SimpleCommand } from "../shell-script.js";

/** The script a RUN gives its shell: the shell-form text and heredoc bodies. */
export function runScript(ins: Instruction): string {
  if (ins.json) return "";
  let text = ins.rest.text;
  for (const h of ins.heredocs) text += `\n${h.content}`;
  return text;
}

/** The simple commands of a RUN (exec form: one command, its argv), once per lint run. */
export function runCommands(m: LintModel, ins: Instruction): readonly SimpleCommand[] {
  const facts = runFacts(m, ins);
  facts.commands ??= ins.json ? [{ words: ins.args.map((a) => a.value), sep: "", piped: false }] : splitCommands(runScript(ins));
  return facts.commands;
}

/** Each command's argv with assignments, wrappers and `sudo` removed, once per lint run. */
export function runArgvs(m: LintModel, ins: Instruction): readonly (readonly string[])[] {
  const facts = runFacts(m, ins);
  facts.argvs ??= runCommands(m, ins).map((c) => withoutSudo(argv(c))).filter((a) => a.length > 0);
  return facts.argvs;
}

function runFacts(m: LintModel, ins: Instruction): RunFacts {
  let facts = m.runs.get(ins);
  if (!facts) m.runs.set(ins, (facts = {}));
  return facts;
}

/** Does the RUN mount a cache (`--mount=type=cache`) over one of `paths` (or anywhere, when omitted)? */
export function hasCacheMount(ins: Instruction, paths?: readonly RegExp[]): boolean {
  return ins.flags.some((f) => {
    if (f.name !== "mount" || !f.value || !/(?:^|,)type=cache(?:,|$)/.test(f.value)) return false;
    if (!paths) return true;
    const target = /(?:^|,)(?:target|dst|destination)=([^,]+)/.exec(f.value)?.[1] ?? "";
    return paths.some((p) => p.test(target));
  });
}

/** The first non-option word after `argv[0]` (a subcommand such as `install`). */
export function subcommand(words: readonly string[], optionsWithValue: ReadonlySet<string> = new Set()): { name: string; index: number } | undefined {
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w.startsWith("-")) {
      if (optionsWithValue.has(w)) i++;
      continue;
    }
    return { name: w, index: i };
  }
  return undefined;
}
