#!/usr/bin/env node
// The process edge: the only module that reads process.argv/env and calls exit
// (citty's runMain). `main(argv, io)` is what tests call in-process.
import { readFileSync, realpathSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { TbuildError, didYouMean } from "../util/index.js";
import { parseCommandArgs, renderHelp } from "./args.js";
import { ALIASES, COMMANDS, type CommandEntry } from "./commands/index.js";
import type { CliIO } from "./io.js";
import { renderError } from "./render/error.js";

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** The version from package.json, read once. */
export function version(): string {
  // src/cli/main.ts when run from source, dist/src/cli/main.js when compiled.
  for (const up of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "tbuild" && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return "0.0.0-unknown";
}

/** The store folder: --root, else $TBUILD_ROOT, else $XDG_DATA_HOME/tbuild, else ~/.local/share/tbuild. */
export function defaultRoot(env: CliIO["env"]): string {
  if (env.TBUILD_ROOT) return env.TBUILD_ROOT;
  const data = env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local", "share");
  return join(data, "tbuild");
}

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

/** Resolve the command name and its arguments, including `image ls` and the build shorthand. */
function resolveCommand(argv: readonly string[]): { name: string; args: readonly string[] } | undefined {
  const first = argv[0];
  if (first === undefined) return undefined;
  const two = `${first} ${argv[1] ?? ""}`;
  if (ALIASES[two]) return { name: ALIASES[two]!, args: argv.slice(2) };
  if (ALIASES[first]) return { name: ALIASES[first]!, args: argv.slice(1) };
  if (COMMANDS[first]) return { name: first, args: argv.slice(1) };
  // `tbuild -t app .` and `tbuild .` mean `tbuild build …`.
  if (COMMANDS.build && (first.startsWith("-") || first === "." || first.includes("/"))) return { name: "build", args: argv };
  return { name: first, args: argv.slice(1) };
}

/** Run tbuild with `argv` (without node and script). Returns the exit code; never throws. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const sources = new Map<string, string>();
  const debug = argv.includes("--debug");
  try {
    if (argv.length === 0 || (argv.length === 1 && (argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help"))) {
      io.stdout.write(topHelp());
      return argv.length === 0 ? EXIT.usage : EXIT.ok;
    }
    if (argv[0] === "--version" || argv[0] === "version") {
      io.stdout.write(`tbuild ${version()}\n`);
      return EXIT.ok;
    }
    const resolved = resolveCommand(argv);
    const entry = resolved && COMMANDS[resolved.name];
    if (!resolved || !entry) {
      const name = resolved?.name ?? "";
      throw new TbuildError("E_USAGE", `unknown command: ${name}`, { hint: didYouMean(name, Object.keys(COMMANDS)) ?? 'run "tbuild --help" for the list of commands' });
    }
    const mod = await entry.load();
    let parsed;
    try {
      parsed = parseCommandArgs(mod.spec, resolved.args);
    } catch (e) {
      if (e instanceof TbuildError && e.code === "E_USAGE") {
        io.stderr.write(renderError(e, { sources, debug }));
        io.stderr.write(`\n${renderHelp(mod.spec)}`);
        return EXIT.usage;
      }
      throw e;
    }
    if (parsed.values.help) {
      io.stdout.write(renderHelp(mod.spec));
      return EXIT.ok;
    }
    const root = typeof parsed.values.root === "string" ? parsed.values.root : defaultRoot(io.env);
    return await mod.run({
      io,
      values: parsed.values,
      positionals: parsed.positionals,
      root,
      debug,
      registerSource: (file, text) => sources.set(file, text),
    });
  } catch (e) {
    if (io.signal.aborted) {
      io.stderr.write("interrupted\n");
      return EXIT.interrupted;
    }
    io.stderr.write(renderError(e, { sources, debug }));
    if (e instanceof TbuildError) return e.code === "E_USAGE" ? EXIT.usage : e.code === "E_INTERRUPTED" ? EXIT.interrupted : EXIT.failed;
    return EXIT.failed;
  }
}

/** The process entry: wires process streams and signals into main() and exits with its code. */
export async function runMain(): Promise<void> {
  const ac = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    ac.abort(new TbuildError("E_INTERRUPTED", `interrupted by ${sig}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const code = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    signal: ac.signal,
  });
  process.exitCode = ac.signal.aborted ? EXIT.interrupted : code;
}

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
