// BuildKit's checks on how a Dockerfile is written: keyword casing, stage names, empty
// continuation lines and definition comments (linter/ruleset.go; semantics as in
// dockerfile2llb/validations.go and instructions/parse.go).
import type { Instruction } from "../../dockerfile/index.js";
import type { Check } from "../model.js";

const isLower = (s: string) => s === s.toLowerCase();
const isUpper = (s: string) => s === s.toUpperCase();

/** StageNameCasing and FromAsCasing: checked per FROM as BuildKit's parseFrom does. */
export const checkFromWords: Check = (m, report) => {
  for (const st of m.stages) {
    const kw = st.from.keyword.text;
    if (st.from.args.length === 3 && st.nameWord && !isLower(st.nameWord.value)) {
      report("StageNameCasing", st.from, `Stage name '${st.nameWord.value}' should be lowercase`, { range: st.nameWord.range });
    }
    if (st.asWord && st.from.args.length >= 3) {
      const as = st.asWord.value;
      // A mixed-case FROM is ConsistentInstructionCasing's business, not this rule's.
      const mismatch = isLower(kw) ? !isLower(as) : isUpper(kw) ? !isUpper(as) : false;
      if (mismatch) {
        const fixed = isLower(kw) ? as.toLowerCase() : as.toUpperCase();
        report("FromAsCasing", st.from, `'${as}' and '${kw}' keywords' casing do not match`, {
          range: st.asWord.range,
          fix: [{ start: st.asWord.range.start.offset, end: st.asWord.range.end.offset, newText: fixed }],
        });
      }
    }
  }
};

/** ConsistentInstructionCasing: every keyword in the stages against the majority's casing. */
export const checkInstructionCasing: Check = (m, report) => {
  let lower = 0;
  let upper = 0;
  const all: Instruction[] = [];
  for (const st of m.stages) {
    for (const ins of [st.from, ...st.instructions]) {
      if (ins.kind === "unknown") continue;
      all.push(ins);
      const k = ins.keyword.text;
      if (isLower(k)) lower++;
      else if (isUpper(k)) upper++;
    }
  }
  const majorityLower = lower > upper;
  for (const ins of all) {
    const k = ins.keyword.text;
    const want = majorityLower ? k.toLowerCase() : k.toUpperCase();
    if (want === k) continue;
    report("ConsistentInstructionCasing", ins, `Command '${k}' should match the case of the command majority (${majorityLower ? "lowercase" : "uppercase"})`, {
      range: ins.keyword.range,
      fix: [{ start: ins.keyword.range.start.offset, end: ins.keyword.range.end.offset, newText: want }],
    });
  }
};

const RESERVED_STAGE_NAMES = new Set(["context", "scratch"]);

/** ReservedStageName and DuplicateStageName. */
export const checkStageNames: Check = (m, report) => {
  const seen = new Set<string>();
  for (const st of m.stages) {
    if (!st.name) continue;
    const range = st.nameWord!.range;
    if (RESERVED_STAGE_NAMES.has(st.name)) {
      report("ReservedStageName", st.from, `Stage name should not use the same name as reserved stage ${JSON.stringify(st.name)}`, { range });
    }
    if (seen.has(st.name)) {
      report("DuplicateStageName", st.from, `Duplicate stage name ${JSON.stringify(st.name)}, stage names should be unique`, { range });
    }
    seen.add(st.name);
  }
};

/**
 * NoEmptyContinuation: a whitespace-only line inside an instruction's continued logical line
 * (comment lines there are fine). BuildKit reports it on the instruction's last line.
 */
export const checkEmptyContinuation: Check = (m, report) => {
  const visit = (ins: Instruction) => {
    if (ins.startLine === ins.endLine) return;
    // Only the logical line counts: stop where the first heredoc body starts.
    const stopLine = ins.heredocs.length ? ins.heredocs[0]!.contentRange.start.line : ins.endLine + 1;
    let lastLine = ins.startLine;
    let empty = false;
    for (let n = ins.startLine + 1; n < stopLine && n <= ins.endLine; n++) {
      const text = m.source.lineText(n);
      if (text.trim() === "") empty = true;
      else lastLine = n;
    }
    if (empty) {
      const line = ins.heredocs.length ? lastLine : ins.endLine;
      const start = m.source.lineStarts[line - 1]!;
      const range = m.source.rangeOf(start, start + m.source.lineText(line).length);
      report("NoEmptyContinuation", ins, "Empty continuation line", { range });
    }
  };
  for (const ins of m.ast.instructions) visit(ins);
};

/**
 * InvalidDefinitionDescription (experimental): a comment directly above ARG or a named FROM
 * must start with the name it describes. BuildKit reads the last comment line of the block.
 */
export const checkDefinitionDescriptions: Check = (m, report) => {
  const stageOf = new Map(m.stages.map((s) => [s.from, s] as const));
  for (const ins of m.ast.instructions) {
    let keys: string[] = [];
    if (ins.kind === "arg") keys = ins.pairs.map((p) => p.key);
    else if (ins.kind === "from") {
      const st = stageOf.get(ins);
      if (st?.nameWord) keys = [st.nameWord.value.toLowerCase()];
    }
    if (keys.length === 0) continue;
    const last = ins.comments[ins.comments.length - 1];
    if (!last || last.range.end.line < ins.startLine - 1) continue;
    const first = last.text.split(" ")[0]!;
    if (keys.includes(first)) continue;
    const example = keys.length > 1 ? "<arg_key>" : keys[0]!;
    report("InvalidDefinitionDescription", ins, `Comment for ${ins.kind === "arg" ? "ARG" : "FROM"} should follow the format: \`# ${example} <description>\``, {
      range: ins.keyword.range,
    });
  }
};
