// Temporary folders of the tests: made under the run's own temp folder (test/global-setup.ts points
// TMPDIR at it), and removed when the test file that made them ends — the suite leaves nothing behind.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const made: string[] = [];

// imported by a test file while it is collected: runs when that file's tests are done
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new empty folder `hptlab-<what>-XXXXXX` in the temp folder, removed after the test file. */
export function tempDir(what: string): string {
  const dir = mkdtempSync(join(tmpdir(), `hptlab-${what}-`));
  made.push(dir);
  return dir;
}
