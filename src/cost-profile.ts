/**
 * A user's cost profile file (`--costs FILE`, docs/model/costs.md §7): JSON naming the profile, the
 * built-in profile it starts from, and the values it replaces, each a number of cycles or
 * `{ "value": N, "source": "how it was measured" }`. Validated with zod; a bad file gets one
 * ConfigError naming the file and the field.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "./config.js";
import { COST_PROFILE_NAMES, COST_ROWS, DEFAULT_COST_PROFILE, costProfileByName, type CostName, type CostProfile, type CostValue } from "./model/costs.js";

const Value = z.number().int().min(0).max(0xffffffff);
const Entry = z.union([Value, z.strictObject({ value: Value, source: z.string().min(1) })]);

export const CostProfileFileSchema = z.strictObject({
  name: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, "letters, digits, '.', '_' and '-' only"),
  summary: z.string().default(""),
  base: z.string().default(DEFAULT_COST_PROFILE).refine((b) => COST_PROFILE_NAMES.includes(b), { message: `must be one of ${COST_PROFILE_NAMES.join(", ")}` }),
  costs: z.strictObject(Object.fromEntries(COST_ROWS.map((r) => [r.key, Entry.optional()])) as Record<CostName, z.ZodOptional<typeof Entry>>),
});

/** A profile from parsed JSON; `where` names the file in errors. */
export function costProfileFromJson(input: unknown, where: string): CostProfile {
  const r = CostProfileFileSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = issue.path.map(String).join(".") || "(top level)";
    let msg = issue.message;
    if (issue.code === "invalid_union") msg = "expected a whole number of cycles or { \"value\": N, \"source\": \"…\" }";
    if (issue.code === "unrecognized_keys") msg = `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    throw new ConfigError(`${where}: ${path}`, msg);
  }
  const f = r.data;
  if (costProfileByName(f.name)) throw new ConfigError(`${where}: name`, `${JSON.stringify(f.name)} is a built-in profile; choose another name`);
  const base = costProfileByName(f.base)!;
  const values = { ...base.values };
  for (const row of COST_ROWS) {
    const e = f.costs[row.key];
    if (e === undefined) continue;
    values[row.key] = typeof e === "number" ? { value: e, source: `${where} (no source given)` } : { value: e.value, source: e.source } satisfies CostValue;
  }
  if (values.coresPerChip.value < 1) throw new ConfigError(`${where}: costs.coresPerChip`, "must be at least 1");
  return { name: f.name, summary: f.summary || `${f.name}: ${base.name} with ${Object.keys(f.costs).length} value(s) from ${where}`, values };
}

/** Read and validate a profile file. */
export function loadCostProfile(file: string): CostProfile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, `not JSON: ${(e as Error).message}`);
  }
  return costProfileFromJson(json, file);
}
