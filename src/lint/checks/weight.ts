// Image-weight checks: a file added in one step and deleted in a later one (the earlier layer
// keeps its bytes), package-manager caches left in a layer, and runs of RUN steps that could
// be one.
import type { Instruction } from "../../dockerfile/index.js";
import { shippedStages, type Check } from "../model.js";
import { baseName, hasOption } from "../shell-script.js";
import { cleanPath } from "../../util/index.js";
import { hasCacheMount, runArgvs } from "./run-script.js";

/** A path a step put into the stage's file system. */
interface Added {
  readonly path: string;
  readonly by: Instruction;
}

function resolve(workdir: string, p: string): string {
  return cleanPath(p.startsWith("/") ? p : `${workdir}/${p}`);
}

/** A shell glob (`*`, `?`) as a whole-path regular expression. */
function globRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
  return new RegExp(`^${re}$`);
}

/** Does removing `target` (maybe a glob, maybe recursive) delete `path`? */
function removes(target: string, path: string, recursive: boolean): boolean {
  const re = globRegExp(target);
  if (re.test(path)) return true;
  if (!recursive) return false;
  // rm -r DIR removes everything below it.
  for (let p = path; p !== "/" && p !== "."; p = p.slice(0, p.lastIndexOf("/")) || "/") if (re.test(p)) return true;
  return false;
}

/** What a RUN downloads to a named file (`curl -o F`, `wget -O F`). */
function downloads(words: readonly string[]): string[] {
  const n = baseName(words[0]);
  const out: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (n === "curl" && (w === "-o" || w === "--output")) out.push(words[i + 1] ?? "");
    else if (n === "curl" && /^-[a-zA-Z]*o$/.test(w) && !w.startsWith("--")) out.push(words[i + 1] ?? "");
    else if (n === "wget" && (w === "-O" || w === "--output-document")) out.push(words[i + 1] ?? "");
    else if (n === "wget" && w.startsWith("--output-document=")) out.push(w.slice(18));
  }
  return out.filter((p) => p !== "" && p !== "-" && !p.includes("$"));
}

/** RemovedInLaterStep. */
const checkRemovedLater: Check = (m, report) => {
  for (const st of shippedStages(m)) {
    let workdir = "/";
    const added: Added[] = [];
    for (const ins of st.instructions) {
      if (ins.kind === "workdir") {
        const p = ins.args[0]?.value ?? "";
        workdir = p.includes("$") ? "" : resolve(workdir || "/", p);
        continue;
      }
      if ((ins.kind === "copy" || ins.kind === "add") && ins.args.length >= 2 && workdir !== "") {
        const dest = ins.args[ins.args.length - 1]!.value;
        const sources = ins.args.slice(0, -1).map((a) => a.value);
        if (dest.includes("$") || sources.some((s) => s.includes("$") || s.startsWith("<<"))) continue;
        if (ins.flags.some((f) => f.name === "link" || f.name === "parents")) continue;
        const destDir = dest.endsWith("/") || sources.length > 1;
        for (const s of sources) {
          const name = baseName(s.replace(/\/+$/, "").replace(/^https?:\/\/.*\//, ""));
          if (name === "" || name === "." || /[*?[]/.test(name)) continue;
          added.push({ path: resolve(workdir, destDir ? `${dest}/${name}` : dest), by: ins });
        }
        continue;
      }
      if (ins.kind !== "run") continue;
      const argvs = runArgvs(m, ins);
      const here: Added[] = [];
      for (const w of argvs) {
        if (workdir !== "") for (const d of downloads(w)) here.push({ path: resolve(workdir, d), by: ins });
        if (baseName(w[0]) !== "rm" || workdir === "") continue;
        const recursive = hasOption(w, ["--recursive"], ["r", "R"]);
        for (const t of w.slice(1)) {
          if (t.startsWith("-") || t.includes("$") || t.includes("`")) continue;
          const target = resolve(workdir, t);
          if (target === "/") continue;
          // A file made and removed in the same step costs nothing.
          for (let i = here.length - 1; i >= 0; i--) if (removes(target, here[i]!.path, recursive)) here.splice(i, 1);
          for (let i = added.length - 1; i >= 0; i--) {
            const a = added[i]!;
            if (!removes(target, a.path, recursive)) continue;
            report("RemovedInLaterStep", ins, `"${a.path}" was added by ${a.by.keyword.text.toUpperCase()} on line ${a.by.startLine} and is removed in a later step; its bytes stay in the earlier layer (remove it in the step that adds it, or use a multi-stage build)`);
            added.splice(i, 1);
          }
        }
      }
      added.push(...here);
    }
  }
};

/** Package managers whose cache stays in the layer unless cleaned in the same RUN. */
const checkPackageCache: Check = (m, report) => {
  for (const st of shippedStages(m)) {
    // Looked up once per stage, when first needed (not per pip install).
    let pipCacheOff: boolean | undefined;
    const noPipCache = () => (pipCacheOff ??= st.instructions.some((i) => i.kind === "env" && i.pairs.some((p) => p.key === "PIP_NO_CACHE_DIR")));
    for (const ins of st.instructions) {
      if (ins.kind !== "run" || hasCacheMount(ins)) continue;
      const argvs = runArgvs(m, ins);
      // The whole script as one string, made only for a package manager's command (rare).
      let joined: string | undefined;
      const script = () => (joined ??= argvs.map((w) => w.join(" ")).join("\n"));
      for (const w of argvs) {
        const n = baseName(w[0]);
        const sub = w.slice(1).find((x) => !x.startsWith("-"));
        if ((n === "yum" || n === "dnf" || n === "microdnf" || n === "tdnf") && (sub === "install" || sub === "update" || sub === "upgrade" || sub === "groupinstall")) {
          const cleaned = new RegExp(`\\b${n} (?:-\\S+ )*clean all\\b|rm -r?f?[a-zA-Z ]*/var/cache/(?:yum|dnf)`).test(script()) || /\brm -\S+ \/var\/cache\/(?:yum|dnf)/.test(script());
          if (!cleaned) {
            report("PackageCacheInLayer", ins, `"${n} ${sub}" leaves its cache in this layer; add \`&& ${n} clean all\` to the same RUN`);
            break;
          }
        }
        if (n === "zypper" && (sub === "install" || sub === "in" || sub === "update" || sub === "up")) {
          if (!/\bzypper (?:-\S+ )*(?:clean|cc)\b/.test(script())) {
            report("PackageCacheInLayer", ins, `"zypper ${sub}" leaves its cache in this layer; add \`&& zypper clean -a\` to the same RUN`);
            break;
          }
        }
        const isPip = /^pip[0-9.]*$/.test(n) || (/^python[0-9.]*$/.test(n) && w.includes("-m") && w[w.indexOf("-m") + 1] === "pip");
        if (isPip && w.includes("install") && !w.includes("--no-cache-dir") && !/\.cache\/pip|\/root\/\.cache/.test(script()) && !noPipCache()) {
          report("PackageCacheInLayer", ins, "pip keeps its download cache in this layer; add --no-cache-dir to `pip install`");
          break;
        }
      }
    }
  }
};

/** How many RUN steps in a row make ConsecutiveRunSteps fire. */
export const CONSECUTIVE_RUN_LIMIT = 3;

/** ConsecutiveRunSteps: CONSECUTIVE_RUN_LIMIT or more RUNs in a row with the same flags. */
const checkConsecutiveRuns: Check = (m, report) => {
  for (const st of m.stages) {
    let run: Instruction[] = [];
    const flush = () => {
      if (run.length >= CONSECUTIVE_RUN_LIMIT) {
        const first = run[0]!;
        const last = run[run.length - 1]!;
        report("ConsecutiveRunSteps", first, `${run.length} consecutive RUN steps (lines ${first.startLine}-${last.startLine}) could be one RUN joined with &&, saving ${run.length - 1} layers`, {
          range: first.keyword.range,
        });
      }
      run = [];
    };
    for (const ins of st.instructions) {
      const flags = (i: Instruction) => i.flags.map((f) => f.word).join(" ");
      if (ins.kind === "run" && (run.length === 0 || flags(run[0]!) === flags(ins))) run.push(ins);
      else {
        flush();
        if (ins.kind === "run") run.push(ins);
      }
    }
    flush();
  }
};

export const WEIGHT_CHECKS: readonly Check[] = [checkRemovedLater, checkPackageCache, checkConsecutiveRuns];
