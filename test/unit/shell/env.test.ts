// The ordered environment: parsing KEY=VALUE lists, later-wins lookup, layering ENV/ARG.
import { describe, expect, it } from "vitest";
import {
  envKeys,
  envToMap,
  formatEnvList,
  hasEnv,
  lookupEnv,
  mergeEnv,
  parseEnvEntry,
  parseEnvList,
  removeEnv,
  setEnv,
} from "../../../src/shell/index.js";

describe("environment", () => {
  it("parses KEY=VALUE, splitting at the first = and treating a bare key as set but empty", () => {
    expect(parseEnvEntry("A=b=c")).toEqual({ key: "A", value: "b=c" });
    expect(parseEnvEntry("A=")).toEqual({ key: "A", value: "" });
    expect(parseEnvEntry("A")).toEqual({ key: "A", value: "" });
  });

  it("looks up the later of repeated keys, case-sensitively by default", () => {
    const env = parseEnvList(["A=1", "a=low", "A=2"]);
    expect(lookupEnv(env, "A")).toBe("2");
    expect(lookupEnv(env, "a")).toBe("low");
    expect(lookupEnv(env, "B")).toBeUndefined();
    expect(hasEnv(parseEnvList(["E="]), "E")).toBe(true);
    expect(lookupEnv(env, "a", { caseInsensitive: true })).toBe("2");
  });

  it("looks up maps and records, own properties only", () => {
    expect(lookupEnv(new Map([["Path", "x"]]), "PATH", { caseInsensitive: true })).toBe("x");
    expect(lookupEnv({ A: "1" }, "A")).toBe("1");
    expect(lookupEnv({}, "hasOwnProperty")).toBeUndefined();
    expect(lookupEnv({ path: "p" }, "PATH", { caseInsensitive: true })).toBe("p");
  });

  it("replaces a key where it stands and appends new keys, as Docker updates a config's Env", () => {
    const env = parseEnvList(["PATH=/bin", "HOME=/root"]);
    expect(formatEnvList(setEnv(env, "PATH", "/usr/bin:/bin"))).toEqual(["PATH=/usr/bin:/bin", "HOME=/root"]);
    expect(formatEnvList(setEnv(env, "X", "1"))).toEqual(["PATH=/bin", "HOME=/root", "X=1"]);
    expect(formatEnvList(setEnv(parseEnvList(["A=1", "B=2", "A=3"]), "A", "9"))).toEqual(["A=9", "B=2"]);
    expect(env).toHaveLength(2); // unchanged
  });

  it("layers one environment over another and removes keys", () => {
    const base = parseEnvList(["PATH=/bin", "HOME=/root"]);
    const merged = mergeEnv(base, parseEnvList(["HOME=/home/u", "V=1"]));
    expect(formatEnvList(merged)).toEqual(["PATH=/bin", "HOME=/home/u", "V=1"]);
    expect(formatEnvList(removeEnv(merged, "PATH"))).toEqual(["HOME=/home/u", "V=1"]);
    expect(formatEnvList(mergeEnv(parseEnvList(["path=a"]), parseEnvList(["PATH=b"]), { caseInsensitive: true }))).toEqual(["PATH=b"]);
  });

  it("lists distinct keys in first-seen order and converts to a Map", () => {
    const env = parseEnvList(["B=1", "A=2", "B=3"]);
    expect(envKeys(env)).toEqual(["B", "A"]);
    expect(envKeys(parseEnvList(["b=1", "B=2"]), { caseInsensitive: true })).toEqual(["b"]);
    expect(envToMap(env).get("B")).toBe("3");
  });
});
