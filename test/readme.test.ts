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
  // each value a comment shows (a literal: 0, 1n, "miss", true; words after it describe) is the value printed there
  const literal = /^(?:-?\d+n?|"[^"]*"|true|false|null|undefined)$/;
  printed.forEach((line, i) => {
    const values = line.split(" ");
    const said = expected[i]!.split(/,\s*/).map((w) => w.replace(/\s*\(.*$/, "").trim());
    expect(literal.test(said[0]!), `line ${i}: README's comment ${expected[i]} shows no value`).toBe(true);
    said.forEach((w, k) => {
      if (literal.test(w)) expect(values[k], `line ${i}: printed ${line}, README says ${expected[i]}`).toBe(w);
    });
  });
});

// ───────── the command line: synopsis and shown outputs ─────────

import { describe } from "vitest";
import { PassThrough } from "node:stream";
import { buildProgram, run, makeMachine } from "../src/cli.js";

const readmeText = () => readFileSync(new URL("../README.md", import.meta.url), "utf8");

/** Plain ``` blocks of the README with the line before each. */
function plainBlocks(text: string): { before: string; body: string }[] {
  return [...text.matchAll(/([^\n]*)\n\n```\n([\s\S]*?)```/g)].map((m) => ({ before: m[1]!, body: m[2]! }));
}

/** Each `hptlab CMD …` synopsis line (continuation lines joined), by command. */
function synopsis(body: string): Map<string, string[]> {
  const lines = new Map<string, string[]>();
  let cmd: string | null = null;
  for (const line of body.split("\n")) {
    const m = /^hptlab (\S+)/.exec(line);
    if (m) {
      cmd = m[1]!;
      lines.set(cmd, [...(lines.get(cmd) ?? []), line]);
    } else if (cmd && /^\s+\S/.test(line)) {
      const l = lines.get(cmd)!;
      l[l.length - 1] += " " + line.trim();
    } else cmd = null;
  }
  return lines;
}

async function runCli(args: string[]): Promise<{ code: number; stdout: string }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  const code = await run(["node", "hptlab", ...args], { makeMachine, stdout: out, stderr: new PassThrough() });
  return { code, stdout: Buffer.concat(chunks).toString("utf8") };
}

describe("README's command line", () => {
  const program = buildProgram({ makeMachine: () => { throw new Error("not used"); } });
  const commands = program.commands.filter((c) => c.name() !== "help");
  const syn = synopsis(/## Command line\n\n```\n([\s\S]*?)```/.exec(readmeText())![1]!);

  test.each(commands.map((c) => [c.name(), c] as const))("the synopsis of hptlab %s lists every option of its --help, and no other", (name, cmd) => {
    const lines = syn.get(name);
    expect(lines, `README's synopsis has no "hptlab ${name}" line`).toBeDefined();
    const shown = new Set(lines!.flatMap((l) => [...l.matchAll(/(--[a-z][a-z0-9-]*)/g)].map((m) => m[1]!)));
    const options = cmd.options.map((o) => o.long!).filter((o) => o !== "--help");
    expect([...options].filter((o) => !shown.has(o)), `options of hptlab ${name} --help missing from README's synopsis`).toEqual([]);
    expect([...shown].filter((o) => !options.includes(o)), `options in README's synopsis that hptlab ${name} does not have`).toEqual([]);
    // choices written a|b|c are the option's choices
    for (const l of lines!) {
      for (const m of l.matchAll(/(--[a-z][a-z0-9-]*) ([\w.-]+(?:\|[\w.-]+)+)/g)) {
        const o = cmd.options.find((x) => x.long === m[1])!;
        if (o.argChoices) expect(m[2]!.split("|").sort(), `${m[1]} of hptlab ${name}`).toEqual([...(o.argChoices ?? [])].sort());
      }
    }
  });

  test("every synopsis elsewhere in the README names only options its command has", () => {
    for (const { body } of plainBlocks(readmeText())) {
      for (const [name, lines] of synopsis(body)) {
        if (name.startsWith("-")) continue;
        const cmd = commands.find((c) => c.name() === name);
        expect(cmd, `hptlab ${name}`).toBeDefined();
        for (const l of lines) for (const m of l.matchAll(/(--[a-z][a-z0-9-]*)/g)) expect(cmd!.options.map((o) => o.long), l).toContain(m[1]);
      }
    }
  });

  // outputs shown in the README: an sh block's `# …` lines after `npx hptlab …`, and a plain block
  // right after a paragraph that ends with "(`hptlab …`):"
  const shown: { command: string; output: string }[] = [];
  for (const m of readmeText().matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = m[1]!.split("\n");
    lines.forEach((l, i) => {
      const c = /^npx (hptlab .*)$/.exec(l);
      const out: string[] = [];
      for (let j = i + 1; c && j < lines.length && lines[j]!.startsWith("# "); j++) out.push(lines[j]!.slice(2));
      if (c && out.length) shown.push({ command: c[1]!, output: out.join("\n") + "\n" });
    });
  }
  for (const { before, body } of plainBlocks(readmeText())) {
    const c = /\(`(hptlab [^`]+)`\):$/.exec(before);
    if (c) shown.push({ command: c[1]!, output: body });
  }

  test("the README shows outputs of commands (the checks below are not vacuous)", () => {
    expect(shown.map((s) => s.command)).toEqual(expect.arrayContaining([
      "hptlab hcalls data/traces/linux-6.1-guest-boot-wl20.jsonl.gz --check",
      "hptlab scenario bulk-remove-1vcpu --policy need-tlb-flush-3.8",
    ]));
  });

  test.each(shown.map((s) => [s.command, s.output]))("`%s` prints what the README shows", async (command, output) => {
    const r = await runCli(command.split(" ").slice(1));
    expect(r.stdout).toBe(output);
  });
});
