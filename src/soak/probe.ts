/**
 * The soak's look at the simulated machine between epochs (docs/soak.md): how full the studied
 * guest's HPT is, how long its rmap rings are, how many of the machine's TLB entries are valid
 * and how many TLBs hold the guest's LPID (a tlbie visits those), and, from the counters, what
 * the epoch's guest operations did (hit rate, PTEGs probed per walk, tlbies and the entries they
 * removed, simulated cycles per guest op by cost category). Read only; nothing simulated changes.
 */
import type { Machine } from "../engine/machine.js";
import type { Guest } from "../engine/guest.js";
import { COST_CATEGORIES, type CostCategory } from "../model/costs.js";
import { G, GUEST_BYTES } from "../engine/layout.js";

/** A snapshot of the machine's state (not per epoch: what it holds now). */
export interface MachineState {
  /** Valid HPTEs of the studied guest, and the share of its HPT they fill. */
  hptValid: number;
  hptFill: number;
  /** PTEGs of the guest whose 8 slots are all valid. */
  hptFullPtegs: number;
  /** Host pages of the guest with an rmap ring, their mean and longest ring. */
  rmapPresent: number;
  rmapMean: number;
  rmapMax: number;
  /** Host pages of the guest backed by a frame (the rest paged out). */
  framesPresent: number;
  /** Valid TLB entries on the machine, and their share of every TLB way. */
  tlbValid: number;
  tlbFill: number;
  /** TLB entries of the studied guest's LPID, and the TLBs holding at least one (every tlbie of the LPID visits them). */
  guestTlbEntries: number;
  guestHolders: number;
}

/** Counters of one epoch (differences), per guest operation where it says so. */
export interface EpochActivity {
  guestOps: number;
  translations: number;
  /** tlbHits / translations. */
  tlbHitRate: number;
  /** PTEGs probed per HPT walk. */
  ptegsPerWalk: number;
  /** Global tlbies per million guest ops, and entries each removed on average. */
  tlbiesPerMop: number;
  entriesPerTlbie: number;
  /** Guest entries with a full flush, per million guest ops. */
  fullFlushesPerMop: number;
  /** Simulated cycles per guest op, by cost category, and their sum. */
  cyclesPerOp: Record<CostCategory, number>;
  cyclesPerOpTotal: number;
}

/** Counter readings to difference. */
export interface Readings {
  guestOps: number;
  c: Record<string, bigint>;
  cycles: Record<CostCategory, bigint>;
}

const COUNTERS = ["translations", "tlbHits", "hptWalks", "ptegsProbed", "globalTlbies", "globalTlbieEntries"] as const;
const KVM = ["fullFlushes"] as const;

export function readings(m: Machine, guestOps: number): Readings {
  const c = m.counters();
  const k = m.kvmCounters();
  const out: Record<string, bigint> = {};
  for (const n of COUNTERS) out[n] = c[n];
  for (const n of KVM) out[n] = k[n];
  return { guestOps, c: out, cycles: { ...k.cycles } };
}

export function activity(a: Readings, b: Readings): EpochActivity {
  const d = (n: string) => Number(b.c[n]! - a.c[n]!);
  const ops = b.guestOps - a.guestOps;
  const per = (x: number, y: number) => (y > 0 ? x / y : 0);
  const cyclesPerOp = {} as Record<CostCategory, number>;
  let total = 0;
  for (const n of COST_CATEGORIES) {
    const v = per(Number(b.cycles[n] - a.cycles[n]), ops);
    cyclesPerOp[n] = v;
    total += v;
  }
  return {
    guestOps: ops, translations: d("translations"), tlbHitRate: per(d("tlbHits"), d("translations")),
    ptegsPerWalk: per(d("ptegsProbed"), d("hptWalks")), tlbiesPerMop: per(d("globalTlbies") * 1e6, ops),
    entriesPerTlbie: per(d("globalTlbieEntries"), d("globalTlbies")), fullFlushesPerMop: per(d("fullFlushes") * 1e6, ops),
    cyclesPerOp, cyclesPerOpTotal: total,
  };
}

/** The machine's state now, as seen from the studied guest `g`. */
export function machineState(m: Machine, g: Guest): MachineState {
  const u32 = m._u32;
  // HPT: the V bit is bit 0 of each HPTE's first doubleword (the low u32 on this little-endian memory)
  const hptBase = u32[(m.plan.guests + g.slot * GUEST_BYTES + G.HPT) / 4]!;
  let hptValid = 0;
  let hptFullPtegs = 0;
  for (let pg = 0; pg < g.npte / 8; pg++) {
    let n = 0;
    for (let s = 0; s < 8; s++) n += u32[(hptBase + (pg * 8 + s) * 16) / 4]! & 1;
    hptValid += n;
    if (n === 8) hptFullPtegs++;
  }
  const hostPages = g.options.ramBytes / 2 ** m.config.hostPageShift;
  let rmapPresent = 0;
  let rmapSum = 0;
  let rmapMax = 0;
  let framesPresent = 0;
  for (let gfn = 0; gfn < hostPages; gfn++) {
    if (g.frame(gfn) >= 0) framesPresent++;
    const n = g.rmapChain(gfn).length;
    if (n === 0) continue;
    rmapPresent++;
    rmapSum += n;
    if (n > rmapMax) rmapMax = n;
  }
  // TLB fingerprints: one byte per way, 0 = invalid (docs/memory.md)
  const { tlbSets, tlbWays } = m.config;
  const ways = tlbSets * m.tlbCount * tlbWays;
  const tlbFp = m.plan.regions.find((r) => r.name === "tlbFp")!.offset;
  const fp = new Uint8Array(m.memory.buffer, tlbFp, ways);
  let tlbValid = 0;
  for (let i = 0; i < ways; i++) if (fp[i] !== 0) tlbValid++;
  // the LPID's entries held per TLB (the engine's exact holder counts)
  let guestTlbEntries = 0;
  let guestHolders = 0;
  const counts = m.plan.lpidCount / 4 + g.lpid * m.tlbCount;
  for (let t = 0; t < m.tlbCount; t++) {
    const n = u32[counts + t]!;
    guestTlbEntries += n;
    if (n) guestHolders++;
  }
  return {
    hptValid, hptFill: hptValid / g.npte, hptFullPtegs, rmapPresent, rmapMean: rmapPresent ? rmapSum / rmapPresent : 0, rmapMax,
    framesPresent, tlbValid, tlbFill: tlbValid / ways, guestTlbEntries, guestHolders,
  };
}
