// The suite's temp folder: every test (and every process a test starts) makes its temporary files
// under a folder of this run's own (TMPDIR), and the run fails if anything is left there at the end —
// each test must remove what it makes (test/tmp.ts does). Other runs on the machine do not disturb it.
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const outer = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), "hptlab-test-run-"));
  // the compiled-trace cache of studies run by tests (src/trace/program-cache.ts): the run's own,
  // beside its temp folder (tests that check the cache give their own folder), removed at the end
  const outerCache = process.env.HPTLAB_TRACE_CACHE;
  const cache = mkdtempSync(join(tmpdir(), "hptlab-test-trace-cache-"));
  process.env.HPTLAB_TRACE_CACHE = cache;
  // other users may need to reach what tests make here (munged and slurmd run as their own users)
  chmodSync(dir, 0o755);
  process.env.TMPDIR = dir;
  return () => {
    const left = readdirSync(dir);
    rmSync(dir, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
    if (outerCache === undefined) delete process.env.HPTLAB_TRACE_CACHE;
    else process.env.HPTLAB_TRACE_CACHE = outerCache;
    if (outer === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = outer;
    if (left.length > 0) {
      // vitest reports a teardown error but keeps its exit status: set it too
      process.exitCode = 1;
      throw new Error(`the tests left ${left.length} temporary file(s) behind: ${left.slice(0, 8).join(", ")}`);
    }
  };
}
