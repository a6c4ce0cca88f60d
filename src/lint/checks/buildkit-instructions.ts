// BuildKit's per-instruction checks: JSON args for CMD/ENTRYPOINT, MAINTAINER, relative
// WORKDIR, repeated CMD/ENTRYPOINT/HEALTHCHECK, legacy `KEY value`, secrets in ARG/ENV and
// EXPOSE formats. Fixes are text edits over the parser's ranges.
import type { Instruction, KeyValue } from "../../dockerfile/index.js";
import type { Check, Stage } from "../model.js";
import type { TextEdit } from "../types.js";

/**
 * For each stage, whether it or a local ancestor (FROM <earlier stage>) has an instruction
 * `has` accepts. One pass in stage order (a parent always comes before its child), so a
 * chain of N stages costs O(N), not a walk up the chain per stage.
 */
function inherited(stages: readonly Stage[], has: (ins: Instruction) => boolean): Map<Stage, boolean> {
  const out = new Map<Stage, boolean>();
  for (const st of stages) out.set(st, st.instructions.some(has) || (st.parent !== undefined && out.get(st.parent) === true));
  return out;
}

const SAFE_EXEC_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * The exec form of a shell-form command when converting cannot change what runs: every word
 * is plain (no quotes, variables, globs, operators or escapes). Undefined otherwise.
 */
function execFormOf(text: string): string | undefined {
  const words = text.trim().split(/[ \t]+/);
  if (words.length === 0 || words[0] === "" || !words.every((w) => SAFE_EXEC_WORD.test(w))) return undefined;
  return `[${words.map((w) => JSON.stringify(w)).join(", ")}]`;
}

/** JSONArgsRecommended: shell-form CMD/ENTRYPOINT where the stage keeps the default SHELL. */
export const checkJsonArgs: Check = (m, report) => {
  const shell = inherited(m.stages, (i) => i.kind === "shell");
  const entrypoint = inherited(m.stages, (i) => i.kind === "entrypoint");
  for (const st of m.stages) {
    if (shell.get(st)) continue;
    const hasEntrypoint = entrypoint.get(st) === true;
    for (const ins of st.instructions) {
      if ((ins.kind !== "cmd" && ins.kind !== "entrypoint") || ins.json || ins.rest.text === "") continue;
      if (ins.heredocs.length) continue;
      const name = ins.keyword.text.toUpperCase();
      // Fix only CMD, and only without an ENTRYPOINT: exec-form ENTRYPOINT starts taking CMD
      // as arguments, and a shell-form CMD under an ENTRYPOINT passes `/bin/sh -c …` to it.
      const json = ins.kind === "cmd" && !hasEntrypoint && ins.startLine === ins.endLine ? execFormOf(ins.rest.text) : undefined;
      report("JSONArgsRecommended", ins, `JSON arguments recommended for ${name} to prevent unintended behavior related to OS signals`, {
        range: ins.rest.range,
        ...(json ? { fix: [{ start: ins.rest.range.start.offset, end: ins.rest.range.end.offset, newText: json }] } : {}),
      });
    }
  }
};

/** MaintainerDeprecated; the fix writes the OCI authors label. */
export const checkMaintainer: Check = (m, report) => {
  for (const ins of m.ast.instructions) {
    if (ins.kind !== "maintainer") continue;
    const value = ins.rest.text;
    const label = ins.keyword.text === ins.keyword.text.toLowerCase() ? "label" : "LABEL";
    const canFix = value !== "" && ins.startLine === ins.endLine && (m.ast.escapeChar === "\\" || !/["$`\\]/.test(value));
    const quoted = `"${value.replace(/[\\"$]/g, "\\$&")}"`;
    report("MaintainerDeprecated", ins, "Maintainer instruction is deprecated in favor of using label", {
      range: ins.keyword.range,
      ...(canFix ? { fix: [{ start: ins.keyword.range.start.offset, end: ins.rest.range.end.offset, newText: `${label} org.opencontainers.image.authors=${quoted}` }] } : {}),
    });
  }
};

/** WorkdirRelativePath: a relative WORKDIR before any absolute one in the stage or its local ancestors. */
export const checkWorkdir: Check = (m, report) => {
  const absSet = new Map<Stage, boolean>();
  for (const st of m.stages) {
    let set = st.parent ? (absSet.get(st.parent) ?? false) : false;
    for (const ins of st.instructions) {
      if (ins.kind !== "workdir") continue;
      const path = ins.args[0]?.value ?? ins.rest.text;
      if (path.startsWith("/") || path.includes("$") || /^[A-Za-z]:[\\/]/.test(path)) {
        if (!path.includes("$") || path.startsWith("/")) set = true;
        continue;
      }
      if (!set) {
        report("WorkdirRelativePath", ins, `Relative workdir ${JSON.stringify(path)} can have unexpected results if the base image changes`, { range: ins.rest.range });
      }
    }
    absSet.set(st, set);
  }
};

/** MultipleInstructionsDisallowed: the earlier of two CMD/ENTRYPOINT/HEALTHCHECK in a stage is dead. */
export const checkMultiple: Check = (m, report) => {
  for (const st of m.stages) {
    const last = new Map<string, Instruction>();
    for (const ins of st.instructions) {
      if (ins.kind !== "cmd" && ins.kind !== "entrypoint" && ins.kind !== "healthcheck") continue;
      const prev = last.get(ins.kind);
      if (prev) {
        report("MultipleInstructionsDisallowed", prev, `Multiple ${ins.kind.toUpperCase()} instructions should not be used in the same stage because only the last one will be used`, {
          range: prev.keyword.range,
        });
      }
      last.set(ins.kind, ins);
    }
  }
};

/**
 * The `key=value` rewrite of a legacy `KEY value` pair: the value is one shell word either
 * way, so escaping its unquoted blanks keeps it byte-for-byte the same after processing.
 */
function legacyFix(pair: KeyValue, text: string, esc: string): TextEdit[] | undefined {
  if (!pair.valueRange || pair.value === undefined) return undefined;
  if (pair.range.start.line !== pair.range.end.line) return undefined;
  const raw = text.slice(pair.valueRange.start.offset, pair.valueRange.end.offset);
  let out = "";
  let quote = "";
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (quote) {
      if (c === quote) quote = "";
      else if (c === esc && quote === '"' && i + 1 < raw.length) {
        out += c + raw[++i];
        continue;
      }
      out += c;
      continue;
    }
    if (c === esc && i + 1 < raw.length) {
      out += c + raw[++i];
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    if (c === " " || c === "\t") {
      out += esc + c;
      continue;
    }
    out += c;
  }
  if (quote) return undefined;
  return [{ start: pair.keyRange.end.offset, end: pair.valueRange.start.offset, newText: "=" }, ...(out === raw ? [] : [{ start: pair.valueRange.start.offset, end: pair.valueRange.end.offset, newText: out }])];
}

/** LegacyKeyValueFormat: `ENV key value` / `LABEL key value`. */
export const checkLegacyKeyValue: Check = (m, report) => {
  for (const st of m.stages) {
    for (const ins of st.instructions) {
      if (ins.kind !== "env" && ins.kind !== "label") continue;
      const legacy = ins.pairs.find((p) => p.separator === "");
      if (!legacy) continue;
      const name = ins.keyword.text;
      const fix = ins.pairs.length === 1 ? legacyFix(legacy, m.ast.text, m.ast.escapeChar) : undefined;
      report("LegacyKeyValueFormat", ins, `"${name} key=value" should be used instead of legacy "${name} key value" format`, {
        range: legacy.range,
        ...(fix ? { fix } : {}),
      });
    }
  }
};

const SECRET = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const SECRET_ALLOW = /(?:_|^)(?:public|file|version)(?:_|$)/i;

/** SecretsUsedInArgOrEnv: an ARG or ENV whose name looks like a secret. */
export const checkSecrets: Check = (m, report) => {
  const visit = (ins: Instruction) => {
    if (ins.kind !== "arg" && ins.kind !== "env") return;
    for (const p of ins.pairs) {
      if (SECRET.test(p.key) && !SECRET_ALLOW.test(p.key)) {
        report("SecretsUsedInArgOrEnv", ins, `Do not use ARG or ENV instructions for sensitive data (${ins.kind.toUpperCase()} ${JSON.stringify(p.key)})`, { range: p.keyRange });
      }
    }
  };
  for (const st of m.stages) for (const ins of st.instructions) visit(ins);
};

/** ExposeProtoCasing, ExposeInvalidFormat (BuildKit) and ExposeInvalidPort (tbuild). */
export const checkExpose: Check = (m, report) => {
  for (const st of m.stages) {
    for (const ins of st.instructions) {
      if (ins.kind !== "expose") continue;
      for (const a of ins.args) {
        const port = a.value;
        if (port.includes("$")) continue;
        if (port.includes(":")) {
          report("ExposeInvalidFormat", ins, `EXPOSE instruction should not define an IP address or host-port mapping, found '${port}'`, { range: a.range });
          continue;
        }
        const slash = port.indexOf("/");
        const proto = slash < 0 ? "" : port.slice(slash + 1);
        if (proto && proto !== proto.toLowerCase()) {
          report("ExposeProtoCasing", ins, `Defined protocol '${port}' in EXPOSE instruction should be lowercase`, { range: a.range });
        }
        const num = slash < 0 ? port : port.slice(0, slash);
        const bounds = /^(\d+)(?:-(\d+))?$/.exec(num);
        const bad = !bounds || Number(bounds[1]) > 65535 || (bounds[2] !== undefined && (Number(bounds[2]) > 65535 || Number(bounds[2]) < Number(bounds[1])));
        if (bad) report("ExposeInvalidPort", ins, `EXPOSE port '${port}' is not a port or port range within 0-65535`, { range: a.range });
      }
    }
  }
};
