// Running one command: resolve its name, load its module, parse its arguments and render
// what goes wrong. main.ts loads this only when a command runs, so `tbuild --version` and
// the top-level help load nothing but the command table.
import { TbuildError, didYouMean } from "../util/index.js";
import { parseCommandArgs, renderHelp } from "./args.js";
import { ALIASES, COMMANDS } from "./commands/index.js";
import type { CliIO } from "./io.js";
import { EXIT, defaultRoot } from "./defaults.js";
import { renderError } from "./render/error.js";

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

/** Run the command `argv` names (main() has answered --version and top-level help). Returns the exit code; never throws. */
export async function runCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const sources = new Map<string, string>();
  const debug = argv.includes("--debug");
  try {
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

