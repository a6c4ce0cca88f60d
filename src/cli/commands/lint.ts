// `tbuild lint [FILE|DIR …]`: run the lint checks over Dockerfiles, print findings as text,
// JSON, SARIF or Checkstyle, optionally --fix them in place. Exit 1 when a finding at or
// above --severity-threshold remains, 2 on a usage error.
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { PatternMatcher, readIgnoreFile } from "../../context/index.js";
import {
  RULES_BY_NAME,
  applyFixes,
  atOrAbove,
  formatCheckstyle,
  formatJson,
  formatSarif,
  formatText,
  lintDockerfileReport,
  type LintDiagnostic,
  type LintOptions,
} from "../../lint/index.js";
import { TbuildError, type Severity } from "../../util/index.js";
import { stringList, type CommandSpec } from "../args.js";
import type { CommandContext } from "../io.js";
import { version } from "../version.js";

export const spec: CommandSpec = {
  name: "lint",
  summary: "Check Dockerfiles for mistakes, BuildKit warnings and image bloat",
  usage: "lint [OPTIONS] [FILE|DIR...]",
  options: {
    format: { type: "string", valueName: "FORMAT", default: "text", description: "output format: text, json, sarif or checkstyle" },
    fix: { type: "boolean", description: "rewrite the files to fix what can be fixed without changing meaning" },
    ignore: { type: "string", multiple: true, valueName: "RULE", description: "never report RULE" },
    "severity-threshold": { type: "string", valueName: "LEVEL", default: "warning", description: "exit 1 when a finding at or above LEVEL (error, warning, info) remains" },
    context: { type: "string", valueName: "DIR", description: "build context: enables CopyIgnoredFile with its .dockerignore" },
    "build-arg": { type: "string", multiple: true, valueName: "KEY=VALUE", description: "a build argument, as for tbuild build" },
  },
  details: [
    "A DIR means every Dockerfile, Dockerfile.*, *.Dockerfile and Containerfile under it",
    "(node_modules and .git are skipped). With no FILE, lints ./Dockerfile.",
    "Suppress findings with `# check=skip=Rule1,Rule2` (BuildKit's directive), a",
    "`# tbuild-lint ignore=Rule` comment on the line before an instruction, or --ignore.",
    "Rules: src/lint/RULES.md.",
  ].join("\n"),
};

const FORMATS = new Set(["text", "json", "sarif", "checkstyle"]);
const SEVERITIES = new Set<Severity>(["error", "warning", "info"]);
const SKIP_DIRS = new Set(["node_modules", ".git"]);

/** Is `name` a Dockerfile by its name? */
export function isDockerfileName(name: string): boolean {
  if (name.endsWith(".dockerignore")) return false;
  return name === "Dockerfile" || name.startsWith("Dockerfile.") || name.endsWith(".Dockerfile") || name === "Containerfile" || name.startsWith("Containerfile.");
}

/** Every Dockerfile-like file under `dir`, sorted. */
export function findDockerfiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names.sort()) {
      const p = join(d, n);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (!SKIP_DIRS.has(n)) walk(p);
      } else if (st.isFile() && isDockerfileName(n)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * The CopyIgnoredFile inputs from a `.dockerignore` text. BuildKit checks ignored sources
 * only when the file has no `!` exception (they make the answer depend on the directory tree).
 */
export function dockerignoreLintOptions(text: string): { hasExclusions: boolean; rootIgnored: boolean; matches: (path: string) => boolean } {
  const matcher = PatternMatcher.compile(readIgnoreFile(text));
  return {
    hasExclusions: matcher.hasExclusions,
    rootIgnored: matcher.patterns.some((p) => !p.exclusion && (p.cleaned === "*" || p.cleaned === "**" || p.cleaned === "**/*")),
    matches: (path) => matcher.matchesOrParentMatches(path),
  };
}

function contextOptions(contextDir: string, dockerfile: string): Pick<LintOptions, "isIgnored" | "rootIgnored"> {
  const candidates = [`${dockerfile}.dockerignore`, join(contextDir, ".dockerignore")];
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    const opts = dockerignoreLintOptions(readFileSync(c, "utf8"));
    if (opts.hasExclusions) return {};
    return { isIgnored: opts.matches, rootIgnored: opts.rootIgnored };
  }
  return {};
}

function parseBuildArgs(list: readonly string[], env: CommandContext["io"]["env"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const a of list) {
    const eq = a.indexOf("=");
    if (eq === 0) throw new TbuildError("E_USAGE", `invalid --build-arg ${JSON.stringify(a)}`, { hint: "write --build-arg KEY=VALUE" });
    if (eq < 0) {
      const v = env[a];
      if (v !== undefined) out[a] = v;
    } else out[a.slice(0, eq)] = a.slice(eq + 1);
  }
  return out;
}

export async function run(ctx: CommandContext): Promise<number> {
  const { io, values } = ctx;
  const format = String(values.format ?? "text");
  if (!FORMATS.has(format)) throw new TbuildError("E_USAGE", `unknown format ${JSON.stringify(format)}`, { hint: "use text, json, sarif or checkstyle" });
  const threshold = String(values["severity-threshold"] ?? "warning") as Severity;
  if (!SEVERITIES.has(threshold)) throw new TbuildError("E_USAGE", `unknown severity ${JSON.stringify(threshold)}`, { hint: "use error, warning or info" });
  const ignore = stringList(values.ignore).flatMap((s) => s.split(",")).map((s) => s.trim()).filter(Boolean);
  for (const r of ignore) {
    if (!RULES_BY_NAME.has(r)) throw new TbuildError("E_USAGE", `unknown rule ${JSON.stringify(r)} for --ignore`, { hint: "rule names are listed in src/lint/RULES.md" });
  }
  const buildArgs = parseBuildArgs(stringList(values["build-arg"]), io.env);
  const contextDir = typeof values.context === "string" ? resolve(io.cwd, values.context) : undefined;

  const inputs = ctx.positionals.length ? ctx.positionals : ["Dockerfile"];
  const files: string[] = [];
  for (const input of inputs) {
    const abs = isAbsolute(input) ? input : resolve(io.cwd, input);
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new TbuildError("E_CONTEXT_NOT_FOUND", `${input}: no such file or directory`, ctx.positionals.length ? {} : { hint: "give a Dockerfile or a directory to lint" });
    }
    if (st.isDirectory()) {
      const found = findDockerfiles(abs);
      if (found.length === 0) throw new TbuildError("E_CONTEXT_NOT_FOUND", `${input}: no Dockerfile found in this directory`);
      files.push(...found);
    } else files.push(abs);
  }

  const shown = (abs: string) => {
    const r = relative(io.cwd, abs);
    return r === "" || r.startsWith("..") ? abs : r;
  };
  const all: LintDiagnostic[] = [];
  const names: string[] = [];
  let fixedCount = 0;
  for (const abs of files) {
    const name = shown(abs);
    names.push(name);
    let text = readFileSync(abs, "utf8");
    ctx.registerSource(name, text);
    const options: LintOptions = {
      file: name,
      ignore,
      buildArgs,
      ...(contextDir ? contextOptions(contextDir, abs) : {}),
    };
    let report = lintDockerfileReport(text, options);
    if (values.fix) {
      const original = text;
      // Fixes can overlap (casing and a rewrite of the same keyword): repeat until stable.
      for (let pass = 0; pass < 5; pass++) {
        const { text: next, fixed } = applyFixes(text, report.diagnostics);
        if (fixed.length === 0 || next === text) break;
        fixedCount += fixed.length;
        text = next;
        report = lintDockerfileReport(text, options);
      }
      if (text !== original) {
        writeFileSync(abs, text);
        ctx.registerSource(name, text);
      }
    }
    all.push(...report.diagnostics);
  }

  switch (format) {
    case "json":
      io.stdout.write(formatJson(all));
      break;
    case "sarif":
      io.stdout.write(formatSarif(all, { toolVersion: version(), files: names }));
      break;
    case "checkstyle":
      io.stdout.write(formatCheckstyle(all, names));
      break;
    default: {
      io.stdout.write(formatText(all));
      const count = (s: Severity) => all.filter((d) => d.severity === s).length;
      if (all.length) io.stderr.write(`${all.length} finding${all.length === 1 ? "" : "s"} (${count("error")} errors, ${count("warning")} warnings, ${count("info")} info) in ${files.length} file${files.length === 1 ? "" : "s"}\n`);
    }
  }
  if (values.fix && fixedCount) io.stderr.write(`fixed ${fixedCount} finding${fixedCount === 1 ? "" : "s"}\n`);
  return all.some((d) => atOrAbove(d.severity, threshold)) ? 1 : 0;
}
