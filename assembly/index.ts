// hptlab engine exports: the host writes ops into the op buffer and calls runBatch(n) once per batch.
import {
  OP_BYTES, OP_TRANSLATE, OP_TLBIEL, OP_TLBIEL_SET, OP_FLUSH_LPID, OP_TLBIE, OP_GUEST_INIT, OP_GUEST_DESTROY,
  OP_H_ENTER, OP_H_REMOVE, OP_H_PROTECT, OP_H_READ, OP_H_BULK_REMOVE, OPF_PROBLEM_STATE, OP_REJECTED,
  STAT_LOCAL_TLBIELS, STAT_LOCAL_TLBIEL_ENTRIES, STAT_TLBIEL_SETS,
  STAT_LPID_FLUSHES, STAT_FLUSHED_ENTRIES, STAT_GLOBAL_TLBIES, STAT_GLOBAL_TLBIE_ENTRIES, STAT_HCALLS, RET_BUCKETS,
  STATS_BYTES, G_FLAGS, G_LPID, G_HPT, G_HPT_ORDER, G_REVMAP, G_RMAP, G_FRAMES, G_RAM_HOST_PAGES, G_INSTANCE,
  GF_LIVE, GF_QEMU, HDR_FREE_FRAMES, NO_FRAME, FRAME_HOST, OP_VCORE_RUN, OP_VCORE_EXIT, OP_PAGE_OUT, OP_PAGE_IN,
  OP_HPT_RESET, OP_WORK, OP_RECLAIM, OP_CORE_ONLINE,
} from "./layout";
import {
  attachHeader, header, ops, cores, smt, tlbGroupShift, tlbFlushSets, tlbSets, lpidLimit, maxGuests, guestDesc, guestStatsOf, bump, lpidGuest,
  frameTake, frameFree, frameBitmapInit, takeFrame,
} from "./machine";
import { decodeSlb, xKey, xSet, HPTE_V_HPTE_DIRTY } from "./hpt";
import { tlbielVa, tlbieVa, tlbielSet, flushLpidOnCore, tlbReset } from "./tlb";
import { hcall } from "./hcall";
import { CHUNK, lookahead, translateOp, beginTranslateStats, flushTranslateStats, chunkBegin, chunkEnd } from "./translate";
export { setLookahead, lookaheadIsOn } from "./translate";
export { policyCount, policyName } from "./policies/table";
import { chargeHcall, work, localSequence, chargeSetFlush, chargeLpidFlush } from "./kvm/costs";
import { globalSequence } from "./kvm/fabric";
import { finishInvalidations } from "./kvm/invalidate";
import { vcoreRun, vcoreExit } from "./kvm/vcore";
import { kvmGuestInit, kvmGuestDestroy, hptReset } from "./kvm/guest";
import { pageOut, pageIn } from "./kvm/paging";
import { reclaim } from "./kvm/reclaim";
import { coreOnline } from "./kvm/vcore";

/** First byte the host may use: above the module's static data, page aligned. */
export function layoutBase(): usize {
  return (__heap_base + 4095) & ~(<usize>4095);
}

/** Zero bytes [from, to) (the host's zeroing of a reused memory: one bulk memory.fill). */
export function zeroRange(from: usize, to: usize): void {
  memory.fill(from, 0, to - from);
}

/** Read the header the host wrote at `base`. */
export function attach(base: usize): void {
  attachHeader(base);
}

/** One-time machine setup after the header is written: TLB ranks, free frame count. */
export function initMachine(): void {
  tlbReset();
  frameBitmapInit();
  // frame 0 belongs to the host kernel: KVM's H_ENTER reads pa == 0 as "not present"
  frameTake(0, FRAME_HOST);
}

// @ts-ignore: decorator
@inline function retBucket(ret: i64): u32 {
  return ret == 0 ? 0 : ret == -4 ? 1 : ret == -6 ? 2 : ret == -7 ? 3 : ret == -3 ? 4 : 5;
}

// @ts-ignore: decorator
@inline function hcallKind(opcode: u32): u32 {
  return opcode == OP_H_ENTER ? 0 : opcode == OP_H_REMOVE ? 1 : opcode == OP_H_PROTECT ? 2 : opcode == OP_H_READ ? 3 : 4;
}

/** Zero a new guest's HPT, revmap and rmap, give it host frames, map its LPID. r3 = frames taken. */
function guestInit(g: usize, slot: u32): u64 {
  const order = load<u32>(g, G_HPT_ORDER);
  const hpt = <usize>load<u32>(g, G_HPT);
  const hptBytes = <usize>1 << order;
  memory.fill(hpt, 0, hptBytes);
  memory.fill(<usize>load<u32>(g, G_REVMAP), 0, hptBytes);
  const qemu = (load<u32>(g, G_FLAGS) & GF_QEMU) != 0;
  if (qemu) {
    for (let p = hpt; p < hpt + hptBytes; p += 16) store<u64>(p, HPTE_V_HPTE_DIRTY); // docs/model/hcalls.md §3.1
  }
  const pages = load<u32>(g, G_RAM_HOST_PAGES);
  let taken: u32 = 0;
  if (!qemu) {
    memory.fill(<usize>load<u32>(g, G_RMAP), 0, <usize>pages << 3);
    const frames = <usize>load<u32>(g, G_FRAMES);
    const free = load<u32>(header, HDR_FREE_FRAMES);
    if (free < pages) return OP_REJECTED;
    const owner = load<u32>(g, G_INSTANCE);
    for (let gfn: u32 = 0; gfn < pages; ++gfn) {
      store<u32>(frames + (<usize>gfn << 2), takeFrame(owner)); // free >= pages: there is one
      ++taken;
    }
  }
  memory.fill(guestStatsOf(g), 0, STATS_BYTES);
  store<u32>(lpidGuest + (<usize>load<u32>(g, G_LPID) << 2), slot + 1);
  store<u32>(g, load<u32>(g, G_FLAGS) | GF_LIVE, G_FLAGS);
  kvmGuestInit(g);
  return <u64>taken;
}

/** Free a guest's frames and LPID. Its TLB entries stay where they are (docs/model/kvm.md §1.4: no flush at teardown). */
function guestDestroy(g: usize, cpu: u32): u64 {
  kvmGuestDestroy(g, cpu);
  let freed: u32 = 0;
  if ((load<u32>(g, G_FLAGS) & GF_QEMU) == 0) {
    const frames = <usize>load<u32>(g, G_FRAMES);
    const pages = load<u32>(g, G_RAM_HOST_PAGES);
    for (let gfn: u32 = 0; gfn < pages; ++gfn) {
      const f = load<u32>(frames + (<usize>gfn << 2));
      if (f == NO_FRAME) continue;
      frameFree(f);
      store<u32>(frames + (<usize>gfn << 2), NO_FRAME);
      ++freed;
    }
  }
  store<u32>(lpidGuest + (<usize>load<u32>(g, G_LPID) << 2), 0);
  store<u32>(g, 0, G_FLAGS);
  return <u64>freed;
}

/**
 * Execute `count` ops from the op buffer. Returns the number executed. Never traps on bad input.
 * Works in chunks: each is looked ahead (assembly/translate.ts), then executed in order.
 */
export function runBatch(count: u32): u32 {
  beginTranslateStats();
  for (let i: u32 = 0; i < count; i += CHUNK) {
    const n = min(CHUNK, count - i);
    const o = ops + <usize>i * OP_BYTES;
    chunkBegin();
    lookahead(o, n);
    runChunk(o, n);
    chunkEnd(n);
  }
  flushTranslateStats();
  return count;
}

function runChunk(o0: usize, count: u32): void {
  const cpus = cores * smt;
  let o = o0;
  for (let i: u32 = 0; i < count; ++i, o += OP_BYTES) {
    const w0 = load<u64>(o);
    const opcode = <u32>w0 & 0xffff;
    const opflags = <u32>(w0 >> 16) & 0xffff;
    const cpu = <u32>(w0 >> 32) & 0xffff;
    const slot = <u32>(w0 >> 48);
    if (cpu >= cpus) {
      store<u64>(o, OP_REJECTED, 8);
      continue;
    }
    if (opcode == OP_TRANSLATE) {
      translateOp(o, cpu, i);
      continue;
    }
    if (opcode == OP_H_ENTER || opcode == OP_H_REMOVE || opcode == OP_H_PROTECT || opcode == OP_H_READ || opcode == OP_H_BULK_REMOVE) {
      if (slot >= maxGuests || (load<u32>(guestDesc(slot), G_FLAGS) & GF_LIVE) == 0) {
        store<u64>(o, OP_REJECTED, 8);
        continue;
      }
      const g = guestDesc(slot);
      const gs = guestStatsOf(g);
      chargeHcall(cpu, gs);
      const ret = hcall(o, opcode, g, gs, cpu, (opflags & OPF_PROBLEM_STATE) != 0);
      finishInvalidations(cpu, g, gs);
      store<i64>(o, ret, 8);
      bump(STAT_HCALLS + hcallKind(opcode) * RET_BUCKETS + retBucket(ret), gs);
      continue;
    }
    if (opcode == OP_GUEST_INIT || opcode == OP_GUEST_DESTROY) {
      if (slot >= maxGuests) {
        store<u64>(o, OP_REJECTED, 8);
        continue;
      }
      const g = guestDesc(slot);
      flushTranslateStats(); // the guest's stats block is zeroed or given up
      store<u64>(o, opcode == OP_GUEST_INIT ? guestInit(g, slot) : guestDestroy(g, cpu), 8);
      continue;
    }
    if ((opcode >= OP_VCORE_RUN && opcode <= OP_HPT_RESET) || opcode == OP_RECLAIM) {
      if (slot >= maxGuests || (load<u32>(guestDesc(slot), G_FLAGS) & GF_LIVE) == 0) {
        store<u64>(o, OP_REJECTED, 8);
        continue;
      }
      const g = guestDesc(slot);
      const a = load<u64>(o, 16);
      let r: u64;
      if (opcode == OP_VCORE_RUN) r = a > 0xffff ? OP_REJECTED : vcoreRun(g, <u32>a, <u32>min(load<u64>(o, 24), 0xffffffff), <u32>load<u64>(o, 32));
      else if (opcode == OP_VCORE_EXIT) r = a > 0xffff ? OP_REJECTED : vcoreExit(g, <u32>a);
      else if (opcode == OP_PAGE_OUT) r = pageOut(g, cpu, a);
      else if (opcode == OP_PAGE_IN) r = pageIn(g, a);
      else if (opcode == OP_RECLAIM) r = reclaim(g, cpu, o);
      else r = hptReset(g, cpu);
      store<u64>(o, r, 8);
      continue;
    }
    if (opcode == OP_CORE_ONLINE) {
      store<u64>(o, coreOnline(<u32>min(load<u64>(o, 16), 0xffffffff), load<u64>(o, 24) != 0), 8);
      continue;
    }
    if (opcode == OP_WORK) {
      work(cpu, load<u64>(o, 16));
      store<u64>(o, 0, 8);
      continue;
    }
    // TLB maintenance by the host: word 10 = lpid
    const lpid = <u32>load<u64>(o, 80);
    if (lpid >= lpidLimit) {
      store<u64>(o, OP_REJECTED, 8);
      continue;
    }
    const core = cpu >> tlbGroupShift; // the cpu's TLB (docs/model/tlb.md §7.2)
    let n: u32 = 0;
    if (opcode == OP_TLBIEL || opcode == OP_TLBIE) {
      if (!decodeSlb(load<u64>(o, 16), load<u64>(o, 24), tlbSets)) {
        store<u64>(o, OP_REJECTED, 8);
        continue;
      }
      if (opcode == OP_TLBIEL) {
        n = tlbielVa(core, xSet, xKey, lpid);
        bump(STAT_LOCAL_TLBIELS, 0);
        bump(STAT_LOCAL_TLBIEL_ENTRIES, 0, <u64>n);
        localSequence(cpu, 0, 1);
      } else {
        n = tlbieVa(xSet, xKey, lpid);
        bump(STAT_GLOBAL_TLBIES, 0);
        bump(STAT_GLOBAL_TLBIE_ENTRIES, 0, <u64>n);
        globalSequence(cpu, 0, 1);
      }
    } else if (opcode == OP_TLBIEL_SET) {
      const set = <u32>load<u64>(o, 16);
      if (set >= tlbSets) {
        store<u64>(o, OP_REJECTED, 8);
        continue;
      }
      if (tlbFlushSets == 1) {
        // POWER10: a tlbiel of a congruence class invalidates every class (docs/model/tlb.md §7.1)
        for (let s: u32 = 0; s < tlbSets; ++s) n += tlbielSet(core, s, lpid, load<u64>(o, 24) != 0);
      } else {
        n = tlbielSet(core, set, lpid, load<u64>(o, 24) != 0);
      }
      bump(STAT_TLBIEL_SETS, 0);
      bump(STAT_FLUSHED_ENTRIES, 0, <u64>n);
      chargeSetFlush(cpu);
    } else if (opcode == OP_FLUSH_LPID) {
      n = flushLpidOnCore(core, lpid);
      bump(STAT_LPID_FLUSHES, 0);
      bump(STAT_FLUSHED_ENTRIES, 0, <u64>n);
      chargeLpidFlush(cpu);
    } else {
      store<u64>(o, OP_REJECTED, 8);
      continue;
    }
    store<u64>(o, <u64>n, 8);
  }
}
export { synInit, synRun } from "./workload/synthetic";
export { traceRun } from "./workload/trace";
