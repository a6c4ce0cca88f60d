// BuildKit's checks that need variable expansion: FROM arguments (UndefinedArgInFrom,
// InvalidDefaultArgInFrom, RedundantTargetPlatform, FromPlatformFlagConstDisallowed, bad
// platform values), UndefinedVar in the instructions the builder expands, and
// CopyIgnoredFile. Expansion is src/shell's (BuildKit's ProcessWordWithMatches).
import type { Instruction } from "../../dockerfile/index.js";
import { tryExpandWordMatches, type WordMatches } from "../../shell/index.js";
import { cleanPath, editDistance } from "../../util/index.js";
import { findStage, type Check, type LintModel, type Report, type Stage } from "../model.js";
import { parseImageRef } from "../image-ref.js";

/** The platform a lint run assumes for BUILDPLATFORM/TARGETPLATFORM values. */
const PLATFORM = { os: "linux", arch: "amd64" };

/** BuildKit's automatic platform ARGs, usable in FROM without declaring them. */
export const BUILTIN_ARGS: ReadonlyMap<string, string> = new Map([
  ["BUILDPLATFORM", `${PLATFORM.os}/${PLATFORM.arch}`],
  ["BUILDOS", PLATFORM.os],
  ["BUILDARCH", PLATFORM.arch],
  ["BUILDVARIANT", ""],
  ["TARGETPLATFORM", `${PLATFORM.os}/${PLATFORM.arch}`],
  ["TARGETOS", PLATFORM.os],
  ["TARGETARCH", PLATFORM.arch],
  ["TARGETVARIANT", ""],
]);

/** The PATH every Linux stage starts with (BuildKit sets it when the image has none). */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Variables the builder uses itself; never reported as undefined (BuildKit's nonEnvArgs). */
const NON_ENV_ARGS = new Set(["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"]);

/** BuildKit's suggest.Search: the closest option within a small edit distance, spelt as the option. */
export function closest(value: string, options: Iterable<string>): string | undefined {
  const max = value.length >= 4 ? 2 : value.length >= 2 ? 1 : 0;
  if (max === 0) return undefined;
  let best: string | undefined;
  let bestD = max + 1;
  for (const o of options) {
    if (o === value) continue;
    const d = editDistance(value, o, max);
    if (d < bestD) {
      best = o;
      bestD = d;
    }
  }
  return best;
}

/** The word's value and names, or undefined when malformed (the planner's error to report). */
function expand(m: LintModel, word: string, env: ReadonlyMap<string, string>): WordMatches | undefined {
  return tryExpandWordMatches(word, env, { escapeToken: m.ast.escapeChar });
}

/** The global ARGs as the build sees them: declared names and the values in scope for FROM. */
interface MetaArgs {
  readonly declared: Set<string>;
  readonly values: Map<string, string>;
}

function metaArgs(m: LintModel, useBuildArgs: boolean): MetaArgs {
  const values = new Map(BUILTIN_ARGS);
  const declared = new Set(BUILTIN_ARGS.keys());
  const given = m.options.buildArgs ?? {};
  for (const ins of m.metaArgs) {
    for (const p of ins.pairs) {
      declared.add(p.key);
      if (useBuildArgs && Object.hasOwn(given, p.key)) values.set(p.key, given[p.key]!);
      else if (p.value !== undefined) {
        const r = expand(m, p.value, values);
        if (r) values.set(p.key, r.value);
      } else values.delete(p.key);
    }
  }
  return { declared, values };
}

/** Resolve each stage's `parent` (FROM <earlier stage>) with the global ARGs expanded. */
export function linkStages(m: LintModel): void {
  const meta = metaArgs(m, true);
  for (const st of m.stages) {
    if (!st.base) continue;
    const r = expand(m, st.base.value, meta.values);
    const parent = r ? findStage(m, r.value, st.index) : undefined;
    if (parent) st.parent = parent;
  }
}

const PLATFORM_COMPONENT = /^[A-Za-z0-9_.-]+$/;
const KNOWN_OS = new Set(["linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos", "aix", "android", "ios", "js", "wasip1", "plan9", "dragonfly"]);
const ARCH_ALIASES: Readonly<Record<string, string>> = { x86_64: "amd64", "x86-64": "amd64", aarch64: "arm64", armhf: "arm", armel: "arm", i386: "386" };

/** containerd's platforms.Parse, enough to name the OS and architecture, or the parse error. */
export function parsePlatform(spec: string): { os: string; arch: string } | { error: string } {
  const parts = spec.split("/");
  for (const p of parts) {
    if (!PLATFORM_COMPONENT.test(p)) {
      return { error: `${JSON.stringify(p)} is an invalid component of ${JSON.stringify(spec)}: platform specifier component must match "^[A-Za-z0-9_.-]+$": invalid argument` };
    }
  }
  const norm = (a: string) => ARCH_ALIASES[a.toLowerCase()] ?? a.toLowerCase();
  if (parts.length === 1) {
    const p = parts[0]!.toLowerCase();
    return KNOWN_OS.has(p) ? { os: p, arch: PLATFORM.arch } : { os: PLATFORM.os, arch: norm(p) };
  }
  if (parts.length > 3) return { error: `unknown operating system or architecture: invalid argument` };
  return { os: parts[0]!.toLowerCase(), arch: norm(parts[1]!) };
}

/** UndefinedArgInFrom, InvalidDefaultArgInFrom, RedundantTargetPlatform, FromPlatformFlagConstDisallowed. */
export const checkFrom: Check = (m, report) => {
  const meta = metaArgs(m, true);
  const defaults = metaArgs(m, false);
  for (const st of m.stages) {
    const from = st.from;
    const suggestions: string[] = [];
    const undeclared = (r: WordMatches, range = from.range) => {
      for (const name of r.unmatched) {
        if (meta.declared.has(name)) continue;
        const s = closest(name, meta.declared);
        if (s) suggestions.push(s);
        report("UndefinedArgInFrom", from, `FROM argument '${name}' is not declared${s ? ` (did you mean ${s}?)` : ""}`, { range });
      }
    };
    if (st.platform?.value !== undefined) {
      const flag = st.platform;
      const raw = flag.value!;
      const r = expand(m, raw, meta.values);
      if (r) {
        undeclared(r, flag.range);
        const hint = suggestions.length ? ` (did you mean ${suggestions[0]}?)` : "";
        if (r.matched.size === 1 && r.unmatched.size === 0 && r.matched.has("TARGETPLATFORM") && r.value === meta.values.get("TARGETPLATFORM")) {
          report("RedundantTargetPlatform", from, `Setting platform to predefined ${raw} in FROM is redundant as this is the default behavior`, { range: flag.range });
        }
        if (r.value === "") {
          report("E_PLAN_PLATFORM", from, `empty platform value from expression ${raw}${hint}`, { range: flag.range });
        } else {
          const p = parsePlatform(r.value);
          if ("error" in p) report("E_PLAN_PLATFORM", from, `failed to parse platform ${raw}: ${p.error}${hint}`, { range: flag.range });
          else if (r.matched.size === 0 && r.unmatched.size === 0 && !st.name.includes(p.os) && !st.name.includes(p.arch)) {
            report("FromPlatformFlagConstDisallowed", from, `FROM --platform flag should not use constant value ${JSON.stringify(r.value)}`, { range: flag.range });
          }
        }
      }
    }
    if (st.base) {
      const r = expand(m, st.base.value, meta.values);
      if (r) undeclared(r, st.base.range);
      const d = expand(m, st.base.value, defaults.values);
      if (d && (d.matched.size > 0 || d.unmatched.size > 0) && !parseImageRef(d.value)) {
        report("InvalidDefaultArgInFrom", from, `Default value for ARG ${st.base.value} results in empty or invalid base image name`, { range: st.base.range });
      }
    }
  }
};

/** The words of `ins` the builder expands (BuildKit's SupportsExpansion commands). */
function expandedWords(ins: Instruction): string[] {
  switch (ins.kind) {
    case "add":
    case "copy": {
      const words = ins.args.filter((a) => !a.value.startsWith("<<")).map((a) => a.value);
      for (const f of ins.flags) if ((f.name === "chown" || f.name === "chmod") && f.value !== undefined) words.push(f.value);
      return words;
    }
    case "env":
    case "label":
    case "arg":
      return ins.pairs.flatMap((p) => (p.value === undefined ? [] : [p.value]));
    case "expose":
    case "stopsignal":
    case "user":
    case "volume":
    case "workdir":
      return ins.json ? ins.args.map((a) => JSON.stringify(a.value)) : ins.args.map((a) => a.value);
    default:
      return [];
  }
}

/** What each stage ends with, for stages built on it. */
interface StageEnv {
  readonly env: Map<string, string>;
  readonly declared: Set<string>;
}

/** UndefinedVar: names used in expanded instructions that no ENV, ARG or build arg defines. */
export const checkUndefinedVar: Check = (m, report) => {
  const meta = metaArgs(m, true);
  const metaKeys = new Set(m.metaArgs.flatMap((a) => a.pairs.map((q) => q.key)));
  const given = m.options.buildArgs ?? {};
  const finals = new Map<Stage, StageEnv>();
  // A stage's final env goes to its children: the last child takes it over, the others copy
  // it, so a chain of N stages is not N copies of an ever larger map.
  const childrenLeft = new Map<Stage, number>();
  for (const st of m.stages) if (st.parent) childrenLeft.set(st.parent, (childrenLeft.get(st.parent) ?? 0) + 1);
  const inherit = (parent: Stage): StageEnv | undefined => {
    const f = finals.get(parent);
    const left = childrenLeft.get(parent)! - 1;
    childrenLeft.set(parent, left);
    if (!f || left > 0) return f && { env: new Map(f.env), declared: new Set(f.declared) };
    finals.delete(parent);
    return f;
  };
  for (const st of m.stages) {
    const base = st.parent ? inherit(st.parent) : undefined;
    const env = base?.env ?? new Map<string, string>();
    if (!st.parent && st.base && m.options.baseImageEnv) {
      const r = expand(m, st.base.value, meta.values);
      const imageEnv = r && r.value !== "scratch" ? m.options.baseImageEnv(r.value) : undefined;
      if (imageEnv) for (const [k, v] of Object.entries(imageEnv)) env.set(k, v);
    }
    if (!env.has("PATH")) env.set("PATH", DEFAULT_PATH);
    const declared = base?.declared ?? new Set<string>();
    for (const ins of st.instructions) {
      if (ins.kind === "onbuild" || ins.kind === "unknown") continue;
      const unmatched = new Set<string>();
      for (const w of expandedWords(ins)) {
        const r = expand(m, w, env);
        if (r) for (const u of r.unmatched) unmatched.add(u);
      }
      for (const name of unmatched) {
        if (declared.has(name) || NON_ENV_ARGS.has(name)) continue;
        const s = closest(name, env.keys());
        report("UndefinedVar", ins, `Usage of undefined variable '$${name}'${s ? ` (did you mean $${s}?)` : ""}`);
      }
      if (ins.kind === "arg") {
        for (const p of ins.pairs) {
          declared.add(p.key);
          if (Object.hasOwn(given, p.key)) env.set(p.key, given[p.key]!);
          else if (p.value !== undefined) {
            const r = expand(m, p.value, env);
            if (r) env.set(p.key, r.value);
          } else if (meta.values.has(p.key) && metaKeys.has(p.key)) {
            env.set(p.key, meta.values.get(p.key)!);
          } else if (BUILTIN_ARGS.has(p.key)) env.set(p.key, BUILTIN_ARGS.get(p.key)!);
        }
      } else if (ins.kind === "env") {
        // Every pair sees the env from before the ENV: expand them all, then set.
        const values = ins.pairs.map((p) => (p.value === undefined ? undefined : expand(m, p.value, env)));
        ins.pairs.forEach((p, i) => env.set(p.key, values[i]?.value ?? ""));
      }
    }
    // A stage built on this one starts from its ENV and, in BuildKit, its ARGs too.
    finals.set(st, { env, declared });
  }
};

/** CopyIgnoredFile: a COPY/ADD source from the context that `.dockerignore` excludes. */
export const checkCopyIgnored: Check = (m, report: Report) => {
  const isIgnored = m.options.isIgnored;
  if (!isIgnored) return;
  for (const st of m.stages) {
    for (const ins of st.instructions) {
      if (ins.kind !== "copy" && ins.kind !== "add") continue;
      if (ins.flags.some((f) => f.name === "from")) continue;
      const sources = ins.args.slice(0, -1).filter((a) => !a.value.startsWith("<<"));
      for (const a of sources) {
        const r = expand(m, a.value, new Map());
        const value = r ? r.value : a.value;
        if (ins.kind === "add" && /^(?:https?:\/\/|git@|[a-z]+:\/\/)/i.test(value)) continue;
        const src = cleanPath(value);
        if ((src === "." || src === "/") && !m.options.rootIgnored) continue;
        const rel = src === "/" ? "." : src.replace(/^\/+/, "");
        if (!isIgnored(rel)) continue;
        report("CopyIgnoredFile", ins, `Attempting to ${ins.kind === "add" ? "Add" : "Copy"} file ${JSON.stringify(src)} that is excluded by .dockerignore`, { range: a.range });
      }
    }
  }
};
