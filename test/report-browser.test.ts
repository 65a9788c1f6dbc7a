// report.html in a real browser: Debian's chromium, headless, driven by playwright-core (.ci/run
// installs it). At 1280 px wide no element sticks out of the page (tables scroll inside their
// box), the verdict panel is inside the first viewport, every plot is an SVG with marks; a
// screenshot of the top of the page is kept in test-artifacts/report-top.png.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveStudy } from "../src/study/config.js";
import { runStudy } from "../src/study/run.js";
import { writeStudyOutputs, plots } from "../src/report/study-report.js";
import { POLICIES } from "../src/model/policies.js";

const CHROMIUM = process.env.HPTLAB_CHROMIUM ?? "/usr/bin/chromium";
const missing = existsSync(CHROMIUM) ? "" : `no browser at ${CHROMIUM} (apt-get install chromium, or set HPTLAB_CHROMIUM)`;
if (missing) console.warn(`report-browser.test.ts skipped: ${missing}`);

const WIDTH = 1280;
const HEIGHT = 720;
const ARTIFACTS = join(import.meta.dirname, "..", "test-artifacts");

/** A small study with everything the report draws: several sizes, every policy, paging on and off, a real guest. */
function smallStudy() {
  const policies = [{ policy: "need-tlb-flush" }, { policy: "need-tlb-flush-3.8" }, { policy: "last-vcpu" }, { policy: "flush-always" }, { policy: "deferred-va", deferredCaps: [8, 64] }];
  return resolveStudy({
    name: "browser", description: "A small study for the report's browser test.", seed: 7, opsPerPoint: 2500,
    sweeps: [
      {
        name: "scaling", cores: [1, 4, 16], policies, hLocal: ["honest", "lying"], pageOutsPerMop: [0, 2000],
        shapes: [{ label: "1 vcpu", vcpus: 1, threadsPerVcore: 4 }, { label: "4 vcores", vcpus: 16, threadsPerVcore: 4 }],
      },
      {
        name: "real-guest", trace: join(import.meta.dirname, "..", "data/traces/linux-6.1-guest-boot-wl20.jsonl.gz"), traceCalls: 2000, cores: [1, 4],
        shapes: [{ label: "2 vcpus, 2 vcores", vcpus: 2, threadsPerVcore: 1 }], policies: policies.slice(0, 3), hLocal: ["never", "honest", "lying"], pageOutsPerMop: [20000],
      },
    ],
  });
}

describe.skipIf(missing !== "")(`report.html in headless chromium${missing ? ` (skipped: ${missing})` : ""}`, () => {
  let dir = "";
  let plotCount = 0;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let ctx: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let page: any;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hptlab-browser-"));
    const { results } = await runStudy(smallStudy(), { workers: 1 });
    await writeStudyOutputs(results, dir);
    plotCount = (await plots(results)).length;
    const { chromium } = await import("playwright-core");
    ctx = await chromium.launchPersistentContext(join(dir, "profile"), {
      executablePath: CHROMIUM, headless: true, viewport: { width: WIDTH, height: HEIGHT },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
    });
    page = await ctx.newPage();
    await page.goto(`file://${join(dir, "report.html")}`);
  }, 120_000);

  afterAll(async () => {
    await ctx?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("keeps a screenshot of the top of the page (test-artifacts/report-top.png)", async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, "report-top.png");
    await page.screenshot({ path: file });
    expect(existsSync(file)).toBe(true);
  });

  it("no element sticks out of the page at 1280 px: wide tables scroll inside their box", async () => {
    const out: { scrollWidth: number; clientWidth: number; over: string[]; boxed: number } = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const over: string[] = [];
      let boxed = 0;
      for (const e of document.querySelectorAll("body *")) {
        const r = e.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue; // not rendered (a closed <details>)
        if (r.right <= width + 0.5 && r.left >= -0.5) continue;
        // inside a box that scrolls or clips sideways, and that box within the page: fine
        let a = e.parentElement;
        let clipped = false;
        while (a && a !== document.body) {
          const ox = getComputedStyle(a).overflowX;
          if (ox === "auto" || ox === "scroll" || ox === "hidden") {
            const b = a.getBoundingClientRect();
            clipped = b.right <= width + 0.5 && b.left >= -0.5;
            break;
          }
          a = a.parentElement;
        }
        if (clipped) boxed++;
        else over.push(`${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ""}${e.className && typeof e.className === "string" ? `.${e.className}` : ""} (right ${Math.round(r.right)})`);
      }
      return { scrollWidth: document.documentElement.scrollWidth, clientWidth: width, over: over.slice(0, 10), boxed };
    });
    expect(out.over).toEqual([]);
    expect(out.scrollWidth).toBeLessThanOrEqual(out.clientWidth);
    // the open tables after the plots
    await page.evaluate(() => document.querySelectorAll("details").forEach((d) => d.setAttribute("open", "")));
    const opened: string[] = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      return [...document.querySelectorAll("div.scroll")].filter((d) => d.getBoundingClientRect().right > width + 0.5).map((d) => d.outerHTML.slice(0, 80));
    });
    expect(opened).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(WIDTH);
    await page.evaluate(() => document.querySelectorAll("details").forEach((d) => d.removeAttribute("open")));
  });

  it("the verdict panel is inside the first viewport", async () => {
    const box = await page.locator("#verdict").boundingBox();
    expect(box).not.toBeNull();
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.y + box.height).toBeLessThanOrEqual(HEIGHT);
    expect(box.x + box.width).toBeLessThanOrEqual(WIDTH);
    // it answers the question: a row per guest shape, a verdict per policy
    expect(await page.locator("#verdict tbody tr:not(.group)").count()).toBe(3);
    expect(await page.locator("#verdict ul.safety li").count()).toBe(POLICIES.length); // every registered policy gets a verdict
  });

  it("every plot renders an SVG with marks", async () => {
    const figures: { id: string; svgs: number; items: number; width: number }[] = await page.evaluate(() =>
      [...document.querySelectorAll("figure")].map((f) => ({
        id: f.id, svgs: f.querySelectorAll("svg").length,
        // vega draws each data item as a child of a group of role "mark" (axes and legends have their own roles)
        items: f.querySelectorAll("svg g.role-mark > *").length,
        width: f.querySelector("svg")?.getBoundingClientRect().width ?? 0,
      })));
    expect(figures.length).toBe(plotCount);
    expect(plotCount).toBeGreaterThanOrEqual(5);
    for (const f of figures) {
      expect(f.svgs, f.id).toBe(1);
      expect(f.items, f.id).toBeGreaterThan(0);
      expect(f.width, f.id).toBeGreaterThan(100);
    }
  });
});
