// COPY and ADD: sources (paths or heredocs) and a destination, with --from --chown --chmod
// --link --parents --exclude (COPY) and --checksum --keep-git-dir --unpack (ADD).
import type { Arg, Heredoc, Instruction } from "../ast.js";
import { fail, FLAG_SPECS, readFlags, type DecodeContext } from "../flags.js";
import { parseHeredocWord } from "../heredoc.js";
import type { CopyCommand } from "./types.js";

function heredocOf(node: Instruction, a: Arg): Heredoc | undefined {
  if (node.json || node.heredocs.length === 0) return undefined;
  let h;
  try {
    h = parseHeredocWord(a.value);
  } catch {
    return undefined;
  }
  return h ? node.heredocs.find((d) => d.name === h.name) : undefined;
}

export function decodeCopyAdd(ctx: DecodeContext, node: Instruction, kind: "copy" | "add"): CopyCommand {
  const flags = readFlags(ctx, node, FLAG_SPECS[kind]);
  const KW = kind.toUpperCase();
  if (node.args.length < 2) fail(ctx, "E_PARSE_MISSING_ARGS", `${KW} requires at least two arguments, but only ${node.args.length} provided`, node.range, `write ${KW} SOURCE... DEST`);
  const dest = node.args.at(-1)!;
  if (heredocOf(node, dest)) fail(ctx, "E_PARSE_HEREDOC", `${KW} cannot use a heredoc as its destination`, dest.range);
  const sources = node.args.slice(0, -1).filter((a) => !heredocOf(node, a));
  const out: { -readonly [K in keyof CopyCommand]?: CopyCommand[K] } = {
    kind, node, range: node.range, sources, dest, heredocs: node.heredocs, json: node.json,
    link: flags.bool("link"), parents: flags.bool("parents"), exclude: flags.strings("exclude"), keepGitDir: flags.bool("keep-git-dir"),
  };
  for (const name of ["from", "chown", "chmod", "checksum"] as const) {
    const f = flags.string(name);
    if (f) out[name] = f;
  }
  const chmod = out.chmod?.value;
  if (chmod !== undefined && !chmod.includes("$") && !/^[0-7]{3,4}$/.test(chmod) && !/^([ugoa]*[-+=][rwxXst]*,?)+$/.test(chmod)) {
    fail(ctx, "E_PARSE_BAD_FLAG", `invalid chmod parameter: ${chmod}`, out.chmod!.range, "write an octal mode such as 0755 or a symbolic one such as u+x");
  }
  // Absent stays undefined: ADD unpacks local archives by default, and --unpack=false must
  // be told apart from no flag at all.
  if (kind === "add" && flags.string("unpack") !== undefined) out.unpack = flags.bool("unpack");
  return out as CopyCommand;
}
