// A small, forgiving reader of the shell scripts in RUN steps, enough for the best-practice
// rules: it splits a script into simple commands (words with quotes removed) and the
// operators between them. It never expands anything and never fails.

/** The operator that ends a simple command. */
export type Separator = "&&" | "||" | ";" | "|" | "&" | "\n" | "";

/** One simple command: its words (quotes removed; `$(…)` kept as written). */
export interface SimpleCommand {
  readonly words: readonly string[];
  /** The operator after it (`""` at the end of the script). */
  readonly sep: Separator;
  /** True when the output of the command before flows into this one (`a | b`). */
  readonly piped: boolean;
}

/** Words that start a compound command and are not the command's name. */
const PREFIX_KEYWORDS = new Set(["if", "then", "else", "elif", "do", "while", "until", "!", "{", "(", "time", "exec"]);
const END_KEYWORDS = new Set(["fi", "done", "esac", "}", ")"]);

/** Split `script` into simple commands. */
export function splitCommands(script: string): SimpleCommand[] {
  const out: SimpleCommand[] = [];
  let words: string[] = [];
  let word = "";
  let inWord = false;
  let piped = false;
  let skipNextWord = false; // the target of a redirection
  const endWord = () => {
    if (!inWord) return;
    if (skipNextWord) skipNextWord = false;
    else words.push(word);
    word = "";
    inWord = false;
  };
  const endCommand = (sep: Separator) => {
    endWord();
    while (words.length && PREFIX_KEYWORDS.has(words[0]!)) words.shift();
    while (words.length && END_KEYWORDS.has(words[words.length - 1]!)) words.pop();
    if (words.length) out.push({ words, sep, piped });
    else if (out.length && sep !== "\n" && sep !== "") {
      // `fi && x`: the operator belongs to the command before.
      const last = out[out.length - 1]!;
      if (last.sep === "\n" || last.sep === ";") out[out.length - 1] = { ...last, sep };
    }
    piped = sep === "|";
    words = [];
  };
  const n = script.length;
  for (let i = 0; i < n; i++) {
    const c = script[i]!;
    if (c === "\\") {
      if (script[i + 1] === "\n") {
        i++;
        continue;
      }
      word += script[i + 1] ?? "";
      inWord = true;
      i++;
      continue;
    }
    if (c === "'") {
      const j = script.indexOf("'", i + 1);
      const end = j < 0 ? n : j;
      word += script.slice(i + 1, end);
      inWord = true;
      i = end;
      continue;
    }
    if (c === '"') {
      i++;
      while (i < n && script[i] !== '"') {
        if (script[i] === "\\" && i + 1 < n && '"\\$`\n'.includes(script[i + 1]!)) {
          if (script[i + 1] !== "\n") word += script[i + 1];
          i += 2;
          continue;
        }
        // A run up to the next quote or backslash, copied whole (see plainRunEnd).
        let j = i + 1;
        while (j < n && script.charCodeAt(j) !== 34 && script.charCodeAt(j) !== 92) j++;
        word += script.slice(i, j);
        i = j;
      }
      inWord = true;
      continue;
    }
    if (c === "$" && (script[i + 1] === "(" || script[i + 1] === "{")) {
      // Keep $(…), $((…)) and ${…} as one opaque piece of the word.
      const open = script[i + 1]!;
      const close = open === "(" ? ")" : "}";
      let depth = 0;
      let j = i + 1;
      for (; j < n; j++) {
        if (script[j] === open) depth++;
        else if (script[j] === close && --depth === 0) break;
      }
      word += script.slice(i, Math.min(j + 1, n));
      inWord = true;
      i = j;
      continue;
    }
    if (c === "`") {
      const j = script.indexOf("`", i + 1);
      const end = j < 0 ? n : j;
      word += script.slice(i, end + 1);
      inWord = true;
      i = end;
      continue;
    }
    if (c === "#" && !inWord) {
      while (i < n && script[i] !== "\n") i++;
      i--;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      endWord();
      continue;
    }
    if (c === "\n") {
      endCommand("\n");
      continue;
    }
    if (c === ";") {
      endCommand(";");
      if (script[i + 1] === ";") i++;
      continue;
    }
    if (c === "&") {
      if (script[i + 1] === "&") {
        endCommand("&&");
        i++;
      } else if (script[i - 1] === ">" || script[i + 1] === ">") {
        word += c;
        inWord = true;
      } else endCommand("&");
      continue;
    }
    if (c === "|") {
      if (script[i + 1] === "|") {
        endCommand("||");
        i++;
      } else endCommand("|");
      continue;
    }
    if ((c === ">" || c === "<") && script[i + 1] !== "(") {
      // A redirection: drop it and its target word (`> /dev/null`, `2>&1`, `<<EOF`).
      const digitsOnly = /^\d*$/.test(word);
      if (inWord && digitsOnly) {
        word = "";
        inWord = false;
      } else endWord();
      let j = i + 1;
      while (j < n && (script[j] === ">" || script[j] === "<" || script[j] === "&" || script[j] === "-" || script[j] === "|")) j++;
      if (/^\d/.test(script.slice(j)) && script[j - 1] === "&") {
        while (j < n && /\d/.test(script[j]!)) j++;
      } else skipNextWord = true;
      i = j - 1;
      continue;
    }
    if ((c === "(" || c === ")") && !inWord) {
      endCommand(c === "(" ? ";" : ";");
      continue;
    }
    const end = plainRunEnd(script, i + 1);
    word += script.slice(i, end);
    inWord = true;
    i = end - 1;
  }
  endCommand("");
  return out;
}

/** The ASCII characters that may end a word or start a quote, escape, expansion or operator. */
const SPECIAL = new Uint8Array(128);
for (const c of "\\'\"$` \t\r\n;&|<>()") SPECIAL[c.charCodeAt(0)] = 1;

/**
 * Where the run of ordinary word characters from `i` ends. Words are copied a run at a time:
 * a word built a character at a time is a rope of one node per character, and a RUN line of
 * a few long words made linting megabytes of them (and of the collector's work).
 */
function plainRunEnd(script: string, i: number): number {
  for (; i < script.length; i++) {
    const c = script.charCodeAt(i);
    if (c < 128 && SPECIAL[c] === 1) break;
  }
  return i;
}

/** Drop leading `VAR=value` assignments and wrappers (`env`, `nice`, `command`): the real argv. */
export function argv(cmd: SimpleCommand): readonly string[] {
  let i = 0;
  const w = cmd.words;
  while (i < w.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w[i]!)) i++;
  while (i < w.length && (w[i] === "env" || w[i] === "command" || w[i] === "nice" || w[i] === "nohup")) i++;
  // Most commands have neither: no copy (a script can have 100k commands).
  return i === 0 ? w : w.slice(i);
}

/** The argv with `sudo [-flags]` stripped, so `sudo apt-get install` reads as `apt-get install`. */
export function withoutSudo(words: readonly string[]): readonly string[] {
  if (words[0] === "xargs") {
    // `xargs [opts] cmd args`: the command is the first word that is not an option or its value.
    let i = 1;
    while (i < words.length && words[i]!.startsWith("-")) i += /^-[IiLlnPsdEa]$/.test(words[i]!) ? 2 : 1;
    return words.slice(i);
  }
  if (words[0] !== "sudo") return words;
  let i = 1;
  while (i < words.length && words[i]!.startsWith("-")) i += /^-[ugCDhpRrTt]$/.test(words[i]!) ? 2 : 1;
  return words.slice(i);
}

/** The base name of a command word (`/usr/bin/apt-get` → `apt-get`). */
export function baseName(word: string | undefined): string {
  if (word === undefined) return "";
  const i = word.lastIndexOf("/");
  return i < 0 ? word : word.slice(i + 1);
}

/** Does the argv carry option `long` or short option letter `short` (also bundled: `-qy`)? */
export function hasOption(words: readonly string[], long: readonly string[], short: readonly string[] = []): boolean {
  for (const w of words) {
    if (w === "--") return false;
    if (w.startsWith("--")) {
      const name = w.split("=")[0]!;
      if (long.includes(name)) return true;
    } else if (w.startsWith("-") && w.length > 1) {
      for (const s of short) if (w.slice(1).includes(s)) return true;
    }
  }
  return false;
}
