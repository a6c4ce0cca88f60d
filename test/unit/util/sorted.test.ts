import { describe, expect, it } from "vitest";
import { lowerBound } from "../../../src/util/index.js";

describe("lowerBound", () => {
  it("agrees with a linear scan on every value around a sorted array", () => {
    const sorted = [1, 3, 3, 3, 7, 9, 20];
    for (let x = -1; x <= 22; x++) {
      const linear = sorted.findIndex((v) => v >= x);
      expect(lowerBound(sorted, x), `x=${x}`).toBe(linear === -1 ? sorted.length : linear);
    }
    expect(lowerBound([], 5)).toBe(0);
    expect(lowerBound(Int32Array.from([2, 4]), 3)).toBe(1);
  });
});
