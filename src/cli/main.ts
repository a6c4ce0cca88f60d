#!/usr/bin/env node
// The process edge: the only module that reads process.argv/env and calls exit
// (citty's runMain). `main(argv, io)` is what tests call in-process.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { COMMANDS, type CommandEntry } from "./commands/index.js";
import { EXIT } from "./defaults.js";
import type { CliIO } from "./io.js";
import { version } from "./version.js";

function topHelp(): string {
  const groups: Record<CommandEntry["group"], string[]> = { build: [], images: [], registry: [], other: [] };
  for (const [name, c] of Object.entries(COMMANDS)) {
    if (!c.hidden) groups[c.group].push(`  ${name.padEnd(10)}${c.summary}`);
  }
  const title = { build: "Building", images: "Images", registry: "Registries", other: "Other" } as const;
  const parts = [
    "Usage: tbuild [build] [OPTIONS] CONTEXT",
    "       tbuild COMMAND [OPTIONS] [ARGS]",
    "",
    "Build OCI images from Dockerfiles, with no daemon.",
  ];
  for (const g of Object.keys(groups) as CommandEntry["group"][]) {
    if (groups[g].length) parts.push("", `${title[g]}:`, ...groups[g]);
  }
  parts.push("", "Global options: --root DIR, --debug, -h/--help, --version", 'Run "tbuild COMMAND --help" for a command\'s options.');
  return parts.join("\n") + "\n";
}

/** `--version` and the top-level help: answered before anything else loads. */
function quickAnswer(argv: readonly string[]): { out: string; code: number } | undefined {
  if (argv.length === 0 || (argv.length === 1 && (argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help"))) {
    return { out: topHelp(), code: argv.length === 0 ? EXIT.usage : EXIT.ok };
  }
  if (argv[0] === "--version" || argv[0] === "version") return { out: `tbuild ${version()}\n`, code: EXIT.ok };
  return undefined;
}

/** Run tbuild with `argv` (without node and script). Returns the exit code; never throws. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const quick = quickAnswer(argv);
  if (quick) {
    io.stdout.write(quick.out);
    return quick.code;
  }
  const { runCommand } = await import("./run.js");
  return runCommand(argv, io);
}

/** The process entry: answers quickly as main() does, else wires process streams and signals into the command runner and exits with its code. */
export async function runMain(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = quickAnswer(argv);
  if (quick) {
    process.stdout.write(quick.out);
    process.exitCode = quick.code;
    return;
  }
  const { TbuildError } = await import("../util/index.js");
  const ac = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    ac.abort(new TbuildError("E_INTERRUPTED", `interrupted by ${sig}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const { runCommand } = await import("./run.js");
  const code = await runCommand(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    signal: ac.signal,
  });
  process.exitCode = ac.signal.aborted ? EXIT.interrupted : code;
}

// True when this file is the script node was started with: dist/src/cli/main.js, or
// dist/bundle/tbuild.js, the bundle the bin runs. The bundle keeps this code in its entry
// file only while no other module imports main.js (it would move to a shared chunk and
// the bin would do nothing), so commands import version.js, not this module.
function isEntry(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) void runMain();
