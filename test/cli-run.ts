// Run `hptlab ARGS` in process with captured stdout/stderr (for commands that need no machine factory).
import { Writable } from "node:stream";
import { run, type CliDeps } from "../src/cli.js";

export class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

export async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const deps: CliDeps = { makeMachine: () => { throw new Error("not used"); }, stdout, stderr };
  const code = await run(["node", "hptlab", ...args], deps);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
