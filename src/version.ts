/** hptlab's package version, read from its package.json (from src/ or dist/ alike). */
import { readFileSync } from "node:fs";

export function hptlabVersion(): string {
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "hptlab") return pkg.version ?? "0.0.0";
    } catch {
      // try the next
    }
  }
  return "0.0.0";
}
