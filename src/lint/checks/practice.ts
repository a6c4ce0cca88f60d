// Best-practice checks (hadolint's best-known, in tbuild's names): base image pinning,
// apt-get/apk/pip hygiene, cd/sudo in RUN, ADD vs COPY, pipefail, COPY --from targets and
// useradd's lastlog trap. See RULES.md for each rule's exact conditions.
import type { Instruction } from "../../dockerfile/index.js";
import { tryExpandWordMatches } from "../../shell/index.js";
import { parseImageRef } from "../image-ref.js";
import { findStage, shippedStages, type Check, type LintModel, type Stage } from "../model.js";
import { baseName, hasOption } from "../shell-script.js";
import { BUILTIN_ARGS } from "./buildkit-vars.js";
import { hasCacheMount, runArgvs, runCommands, runScript, subcommand } from "./run-script.js";

function metaValues(m: LintModel): Map<string, string> {
  const values = new Map(BUILTIN_ARGS);
  const given = m.options.buildArgs ?? {};
  for (const ins of m.metaArgs) {
    for (const p of ins.pairs) {
      if (Object.hasOwn(given, p.key)) values.set(p.key, given[p.key]!);
      else if (p.value !== undefined) {
        // A malformed value leaves the ARG unset.
        const r = tryExpandWordMatches(p.value, values, { escapeToken: m.ast.escapeChar });
        if (r) values.set(p.key, r.value);
      }
    }
  }
  return values;
}

/** BaseImageUntagged and BaseImageLatest. */
const checkBaseImages: Check = (m, report) => {
  const values = metaValues(m);
  for (const st of m.stages) {
    if (!st.base) continue;
    const r = tryExpandWordMatches(st.base.value, values, { escapeToken: m.ast.escapeChar });
    if (!r || r.unmatched.size > 0) continue;
    const image = r.value;
    if (image === "scratch" || st.parent || findStage(m, image, st.index)) continue;
    const ref = parseImageRef(image);
    if (!ref || ref.digest) continue;
    if (ref.tag === undefined) {
      report("BaseImageUntagged", st.from, `Base image "${image}" has no tag or digest; pin one (e.g. ${image}:<version>)`, { range: st.base.range });
    } else if (ref.tag === "latest") {
      report("BaseImageLatest", st.from, `Base image "${image}" uses the "latest" tag; pin a version`, { range: st.base.range });
    }
  }
};

const APT_OPTS_WITH_VALUE = new Set(["-o", "-c", "-t", "--option", "--config-file", "--target-release"]);

function isApt(words: readonly string[]): boolean {
  const n = baseName(words[0]);
  return n === "apt-get" || n === "apt";
}

function hasYes(words: readonly string[]): boolean {
  if (hasOption(words, ["--yes", "--assume-yes"], ["y"])) return true;
  if (words.includes("-qq") || words.includes("-q=2") || words.filter((w) => w === "-q").length >= 2) return true;
  return words.some((w, i) => (w === "-o" || w === "--option") && /^APT::Get::Assume-Yes=(true|1|yes)$/i.test(words[i + 1] ?? ""));
}

function removesAptLists(words: readonly string[]): boolean {
  return baseName(words[0]) === "rm" && words.some((w) => w.startsWith("/var/lib/apt/lists"));
}

/** apt-get: -y, --no-install-recommends, lists cleaned, update not alone. */
const checkApt: Check = (m, report) => {
  const shipped = shippedStages(m);
  for (const st of m.stages) {
    for (const ins of st.instructions) {
      if (ins.kind !== "run") continue;
      const argvs = runArgvs(m, ins);
      let installs = 0;
      let updates = false;
      let upgrades = false;
      for (const w of argvs) {
        if (!isApt(w)) continue;
        const sub = subcommand(w, APT_OPTS_WITH_VALUE)?.name;
        if (sub === "update") updates = true;
        if (sub === "upgrade" || sub === "dist-upgrade" || sub === "full-upgrade") upgrades = true;
        if (sub !== "install") continue;
        installs++;
        const simulate = hasOption(w, ["--simulate", "--just-print", "--dry-run", "--recon", "--no-act"], ["s"]);
        if (!hasYes(w) && !simulate) report("AptGetMissingYes", ins, `Add -y to "${w.join(" ")}" so it does not wait for a confirmation`);
        const noRec = w.includes("--no-install-recommends") || w.some((x, i) => (x === "-o" || x === "--option") && /^APT::Install-Recommends=(false|0|no)$/i.test(w[i + 1] ?? ""));
        if (!noRec) report("AptGetMissingNoInstallRecommends", ins, `Add --no-install-recommends to "${w.join(" ")}" to avoid installing recommended packages`);
      }
      if (installs > 0 && shipped.has(st) && !argvs.some(removesAptLists) && !hasCacheMount(ins, [/^\/var\/lib\/apt/])) {
        report("AptGetListsNotCleaned", ins, "Remove the apt lists after installing: add `&& rm -rf /var/lib/apt/lists/*` to this RUN");
      }
      const onlyUpdates = argvs.every((w) => (isApt(w) && subcommand(w, APT_OPTS_WITH_VALUE)?.name === "update") || /^(set|echo|true|:)$/.test(w[0]!));
      if (updates && installs === 0 && !upgrades && onlyUpdates) {
        report("AptGetUpdateAlone", ins, "`apt-get update` without an install in the same RUN: the cached update goes stale; combine it with `apt-get install`");
      }
    }
  }
};

const PIP_OPTS_WITH_VALUE = new Set([
  "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-t", "--target", "--prefix", "--root", "-i", "--index-url",
  "--extra-index-url", "-f", "--find-links", "--trusted-host", "--platform", "--python-version", "--implementation", "--abi",
  "--src", "--upgrade-strategy", "--progress-bar", "--cache-dir", "--log", "--proxy", "--timeout", "--retries", "--only-binary", "--no-binary",
]);

/** The `pip install` argv (also `python -m pip install`), or undefined. */
function pipInstall(w: readonly string[]): readonly string[] | undefined {
  const n = baseName(w[0]);
  let rest: readonly string[] | undefined;
  if (/^pip[0-9.]*$/.test(n)) rest = w;
  else if (/^python[0-9.]*$/.test(n)) {
    const i = w.indexOf("-m");
    if (i > 0 && w[i + 1] === "pip") rest = w.slice(i + 1);
  }
  if (!rest) return undefined;
  const sub = subcommand(rest, PIP_OPTS_WITH_VALUE);
  return sub?.name === "install" ? rest.slice(sub.index) : undefined;
}

function isPinned(pkg: string): boolean {
  // Any version specifier (==, ~=, >=, <, !=), a direct reference (@), a path, URL or archive.
  return /[=<>~!@]|^[./~]|:\/\/|\.(whl|tar\.gz|zip|tgz)$/.test(pkg) || pkg.includes("$");
}

/** PipUnpinned and ApkAddMissingNoCache. */
const checkPackages: Check = (m, report) => {
  const shipped = shippedStages(m);
  for (const st of m.stages) {
    for (const ins of st.instructions) {
      if (ins.kind !== "run") continue;
      const argvs = runArgvs(m, ins);
      for (const w of argvs) {
        const pip = pipInstall(w);
        if (pip) {
          const unpinned: string[] = [];
          for (let i = 1; i < pip.length; i++) {
            const a = pip[i]!;
            if (a.startsWith("-")) {
              if (PIP_OPTS_WITH_VALUE.has(a)) i++;
              continue;
            }
            if (!isPinned(a) && !/^(pip|setuptools|wheel)$/i.test(a)) unpinned.push(a);
          }
          if (unpinned.length) report("PipUnpinned", ins, `Pin the version of ${unpinned.map((p) => `"${p}"`).join(", ")} (e.g. ${unpinned[0]}==<version>) or install from a requirements file`);
        }
        if (baseName(w[0]) === "apk" && subcommand(w, new Set(["-X", "--repository", "-p", "--root"]))?.name === "add") {
          const cleaned = argvs.some((x) => baseName(x[0]) === "rm" && x.some((p) => p.startsWith("/var/cache/apk")));
          if (shipped.has(st) && !w.includes("--no-cache") && !cleaned && !hasCacheMount(ins, [/^\/var\/cache\/apk/, /^\/etc\/apk\/cache/])) {
            report("ApkAddMissingNoCache", ins, "Use `apk add --no-cache` so the package index is not kept in the layer");
          }
        }
      }
    }
  }
};

/** CdInsteadOfWorkdir (a RUN that starts by changing to an absolute directory) and SudoInRun. */
const checkCdSudo: Check = (m, report) => {
  for (const st of m.stages) {
    for (const ins of st.instructions) {
      if (ins.kind !== "run") continue;
      const cmds = runCommands(m, ins);
      const first = cmds[0];
      if (first && first.words[0] === "cd" && first.words[1]?.startsWith("/") && cmds.length > 1) {
        report("CdInsteadOfWorkdir", ins, `Use WORKDIR ${first.words[1]} instead of starting the RUN with \`cd ${first.words[1]}\``);
      }
      if (cmds.some((c) => c.words[0] === "sudo")) report("SudoInRun", ins, "Do not use sudo in RUN; steps run as the current USER (switch with USER)");
    }
  }
};

const ARCHIVE = /\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst|tar\.lz|tar\.lzma|tlz)$/i;

/** AddInsteadOfCopy: ADD of local, non-archive sources. */
const checkAdd: Check = (m, report) => {
  for (const st of m.stages) {
    for (const ins of st.instructions) {
      if (ins.kind !== "add" || ins.args.length < 2) continue;
      const sources = ins.args.slice(0, -1).map((a) => a.value.replace(/^["']|["']$/g, ""));
      const remoteOrArchive = sources.some((s) => /^(?:[a-z][a-z0-9+.-]*:\/\/|git@)/i.test(s) || ARCHIVE.test(s) || s.includes("$") || s.startsWith("<<"));
      if (remoteOrArchive || ins.heredocs.length) continue;
      report("AddInsteadOfCopy", ins, "Use COPY instead of ADD for local files and folders", { range: ins.keyword.range });
    }
  }
};

/** The last SHELL of each stage's instructions, looked up once per stage. */
function lastShells(): (st: Stage) => Instruction | undefined {
  const memo = new Map<Stage, Instruction | undefined>();
  return (st) => {
    if (memo.has(st)) return memo.get(st);
    let found: Instruction | undefined;
    for (const ins of st.instructions) if (ins.kind === "shell") found = ins;
    memo.set(st, found);
    return found;
  };
}

/** PipeWithoutPipefail. */
const checkPipefail: Check = (m, report) => {
  const lastShell = lastShells();
  for (const st of m.stages) {
    // The SHELL in effect: the last one so far in this stage, else the parent stage's last.
    let shellHere: Instruction | undefined;
    for (const ins of st.instructions) {
      if (ins.kind === "shell") shellHere = ins;
      if (ins.kind !== "run" || ins.json) continue;
      const cmds = runCommands(m, ins);
      if (!cmds.some((c) => c.piped)) continue;
      const shell = shellHere ?? (st.parent ? lastShell(st.parent) : undefined);
      if (shell) {
        const words = shell.args.map((a) => a.value).join(" ");
        if (/pipefail/.test(words) || !/(?:^|\/)(?:ba|z|k|a)?sh\b/.test(shell.args[0]?.value ?? "")) continue;
      }
      const script = runScript(ins);
      if (/\bset\s+(?:-[a-zA-Z]*o\s+pipefail|.*-o\s*pipefail|.*pipefail)/.test(script)) continue;
      report("PipeWithoutPipefail", ins, "Set `set -o pipefail` before a pipe (or `SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]`) so a failure on its left fails the step");
    }
  }
};

/** CopyFromUnknownStage and CopyFromSelf. */
const checkCopyFrom: Check = (m, report) => {
  for (const st of m.stages) {
    for (const ins of st.instructions) {
      if (ins.kind !== "copy") continue;
      const flag = ins.flags.find((f) => f.name === "from");
      const from = flag?.value;
      if (!flag || from === undefined || from.includes("$")) continue;
      const range = flag.range;
      const lower = from.toLowerCase();
      if ((st.name !== "" && lower === st.name) || from === String(st.index)) {
        report("CopyFromSelf", ins, `COPY --from=${from} refers to the stage it is in`, { range });
        continue;
      }
      if (findStage(m, from, st.index)) continue;
      const later = findStage(m, from);
      if (later) {
        if (/^\d+$/.test(from)) report("CopyFromUnknownStage", ins, `COPY --from=${from} refers to a stage that comes later; stage indexes must refer to earlier stages`, { range });
        continue;
      }
      if (/^\d+$/.test(from)) {
        report("CopyFromUnknownStage", ins, `COPY --from=${from}: there is no stage ${from}`, { range });
        continue;
      }
      const ref = parseImageRef(from);
      if (ref && (ref.tag !== undefined || ref.digest !== undefined || from.includes("/"))) continue;
      report("CopyFromUnknownStage", ins, `COPY --from=${from} names no stage in this Dockerfile; it would be pulled as the image "${from}"`, { range });
    }
  }
};

/** UseraddHighUidWithoutL. */
const checkUseradd: Check = (m, report) => {
  for (const st of m.stages) {
    for (const ins of st.instructions) {
      if (ins.kind !== "run") continue;
      for (const w of runArgvs(m, ins)) {
        if (baseName(w[0]) !== "useradd") continue;
        let uid: string | undefined;
        for (let i = 1; i < w.length; i++) {
          const a = w[i]!;
          if (a === "-u" || a === "--uid") uid = w[i + 1];
          else if (a.startsWith("--uid=")) uid = a.slice(6);
          else if (/^-u\d+$/.test(a)) uid = a.slice(2);
        }
        if (uid === undefined || !/^\d+$/.test(uid) || Number(uid) <= 99999) continue;
        if (hasOption(w, ["--no-log-init"], ["l"])) continue;
        report("UseraddHighUidWithoutL", ins, `useradd with UID ${uid} needs -l (--no-log-init); otherwise /var/log/lastlog grows to gigabytes in the layer`);
      }
    }
  }
};

export const PRACTICE_CHECKS: readonly Check[] = [checkBaseImages, checkApt, checkPackages, checkCdSudo, checkAdd, checkPipefail, checkCopyFrom, checkUseradd];
