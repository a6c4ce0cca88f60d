// `tbuild import --change 'CMD ["sh"]'`: applies the few config instructions Docker allows
// there (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, STOPSIGNAL, VOLUME). A small
// parser of its own: the full Dockerfile parser (src/dockerfile) sits above image/ in the
// pipeline and cannot be imported here. Pure.
import { TbuildError } from "../util/index.js";
import type { ContainerConfig } from "./types.js";

function usage(change: string, why: string): TbuildError {
  return new TbuildError("E_USAGE", `invalid --change ${JSON.stringify(change)}: ${why}`, { hint: "supported: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, STOPSIGNAL, VOLUME" });
}

/** Split words, honouring double and single quotes and backslash escapes. */
export function splitWords(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let has = false;
  let q: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === q) q = undefined;
      else if (c === "\\" && q === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      q = c;
      has = true;
    } else if (c === "\\" && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = "";
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (q) throw new TbuildError("E_USAGE", `unterminated quote in ${JSON.stringify(s)}`);
  if (has) out.push(cur);
  return out;
}

/** Exec form (JSON array of strings) or shell form wrapped in `/bin/sh -c`. */
function commandOf(change: string, rest: string, shell: readonly string[]): string[] {
  const t = rest.trim();
  if (t.startsWith("[")) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
    } catch {
      // fall through to shell form, as Docker does
    }
  }
  if (t === "") throw usage(change, "missing command");
  return [...shell, t];
}

function keyValues(change: string, rest: string, allowSpaceForm: boolean): [string, string][] {
  const words = splitWords(rest);
  if (!words.length) throw usage(change, "missing arguments");
  if (allowSpaceForm && !words[0]!.includes("=")) {
    const m = /^\s*(\S+)\s+(.*)$/s.exec(rest);
    if (!m) throw usage(change, "expected KEY VALUE or KEY=VALUE");
    return [[m[1]!, m[2]!.trim()]];
  }
  return words.map((w) => {
    const i = w.indexOf("=");
    if (i <= 0) throw usage(change, `expected KEY=VALUE, got ${JSON.stringify(w)}`);
    return [w.slice(0, i), w.slice(i + 1)];
  });
}

/** Apply `changes` in order to `config`, returning a new config. */
export function applyChanges(config: ContainerConfig, changes: readonly string[]): ContainerConfig {
  const c: { -readonly [K in keyof ContainerConfig]: ContainerConfig[K] } = { ...config };
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)(?:\s+(.*))?$/s.exec(change);
    if (!m) throw usage(change, "expected INSTRUCTION ARGUMENTS");
    const kw = m[1]!.toUpperCase();
    const rest = (m[2] ?? "").trim();
    const shell = c.Shell ?? ["/bin/sh", "-c"];
    switch (kw) {
      case "CMD":
        c.Cmd = commandOf(change, rest, shell);
        break;
      case "ENTRYPOINT":
        c.Entrypoint = commandOf(change, rest, shell);
        break;
      case "ENV": {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of keyValues(change, rest, true)) {
          const i = env.findIndex((e) => e.split("=")[0] === k);
          if (i >= 0) env[i] = `${k}=${v}`;
          else env.push(`${k}=${v}`);
        }
        c.Env = env;
        break;
      }
      case "LABEL":
        c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(keyValues(change, rest, true)) };
        break;
      case "EXPOSE": {
        const ports: Record<string, Record<string, never>> = { ...(c.ExposedPorts ?? {}) };
        for (const p of splitWords(rest)) {
          if (!/^\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/i.test(p)) throw usage(change, `invalid port ${JSON.stringify(p)}`);
          ports[p.includes("/") ? p.toLowerCase() : `${p}/tcp`] = {};
        }
        c.ExposedPorts = ports;
        break;
      }
      case "VOLUME": {
        const vols: Record<string, Record<string, never>> = { ...(c.Volumes ?? {}) };
        let list: string[];
        try {
          list = rest.startsWith("[") ? (JSON.parse(rest) as string[]) : splitWords(rest);
        } catch {
          list = splitWords(rest);
        }
        for (const v of list) vols[v] = {};
        c.Volumes = vols;
        break;
      }
      case "USER":
      case "WORKDIR":
      case "STOPSIGNAL": {
        const words = splitWords(rest);
        if (words.length !== 1) throw usage(change, `${kw} takes exactly one argument`);
        if (kw === "USER") c.User = words[0]!;
        else if (kw === "STOPSIGNAL") c.StopSignal = words[0]!;
        else c.WorkingDir = words[0]!.startsWith("/") ? words[0]! : `${c.WorkingDir ?? "/"}/${words[0]!}`.replace(/\/+/g, "/");
        break;
      }
      default:
        throw usage(change, `${kw} is not allowed in --change`);
    }
  }
  return c;
}
