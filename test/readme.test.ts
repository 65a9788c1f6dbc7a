/**
 * The README's library example runs as written, and prints what its comments say.
 */
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { inspect } from "node:util";
import * as hptlab from "../src/index.js";

test.each([["## Library"], ["## The KVM model"], ["## Studies from code"]])("README example under %s", async (heading) => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const at = readme.indexOf(heading);
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(at))?.[1];
  expect(at >= 0 && block, `README has a \`\`\`js block under ${heading}`).toBeTruthy();
  // expected output: the comment after each console.log, up to the first parenthesis note
  const expected = [...block!.matchAll(/console\.log\((.*)\);\s*\/\/ (.*)$/gm)].map((m) => m[2]!.replace(/\s+\(.*\)$/, "").trim());
  const code = block!.replace(/import \{([^}]*)\} from "hptlab";/, "const {$1} = __hptlab;");
  const printed: string[] = [];
  const fakeConsole = { log: (...xs: unknown[]) => printed.push(xs.map((x) => (typeof x === "string" ? JSON.stringify(x) : inspect(x))).join(" ")) };
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...a: string[]) => (c: unknown, api: unknown) => Promise<void>;
  await new AsyncFunction("console", "__hptlab", code)(fakeConsole, hptlab);
  expect(printed.length).toBe(expected.length);
  printed.forEach((line, i) => {
    const want = expected[i]!.split(",")[0]!.trim(); // first value of each comment
    expect(line.startsWith(want.replace(/ \(.*$/, "")), `line ${i}: printed ${line}, README says ${expected[i]}`).toBe(true);
  });
});
