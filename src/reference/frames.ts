/**
 * Host frames (docs/semantics.md "Machine"): hostMemoryBytes / 2^hostPageShift frames, each owned by
 * a guest instance id or free (0). Kept as runs of consecutive frames, so that even 2^32 frames cost
 * nothing until they are handed out.
 */

export interface FrameRun {
  start: number;
  count: number;
}

interface OwnedRun extends FrameRun {
  owner: number;
}

/** Owner of the frames the host kernel keeps: frame 0 (KVM's H_ENTER reads pa == 0 as "not present"). */
export const FRAME_HOST = 0xffffffff;

export class HostFrames {
  /** Allocated runs, sorted by start, never overlapping. Frame 0 is the host's from the start. */
  private runs: OwnedRun[];

  constructor(readonly total: number) {
    this.runs = total > 0 ? [{ start: 0, count: 1, owner: FRAME_HOST }] : [];
  }

  freeCount(): number {
    let used = 0;
    for (const r of this.runs) used += r.count;
    return this.total - used;
  }

  /**
   * Give `n` frames to `owner`, lowest free frames first. Returns the runs in ascending frame order
   * (the order in which they back the owner's gfns). The caller checks `freeCount()` first.
   */
  allocate(owner: number, n: number): FrameRun[] {
    if (n > this.freeCount()) throw new Error(`internal: allocate ${n} > free ${this.freeCount()}`);
    const got: FrameRun[] = [];
    let need = n;
    let cursor = 0; // first frame not yet examined
    const gaps: FrameRun[] = [];
    for (const r of this.runs) {
      if (r.start > cursor) gaps.push({ start: cursor, count: r.start - cursor });
      cursor = r.start + r.count;
    }
    if (cursor < this.total) gaps.push({ start: cursor, count: this.total - cursor });
    for (const gap of gaps) {
      if (need === 0) break;
      const take = Math.min(need, gap.count);
      got.push({ start: gap.start, count: take });
      need -= take;
    }
    for (const g of got) this.runs.push({ ...g, owner });
    this.runs.sort((a, b) => a.start - b.start);
    return got;
  }

  /** Free every frame of `owner`; returns how many. */
  release(owner: number): number {
    let n = 0;
    this.runs = this.runs.filter((r) => {
      if (r.owner !== owner) return true;
      n += r.count;
      return false;
    });
    return n;
  }

  ownerOf(frame: number): number {
    for (const r of this.runs) if (frame >= r.start && frame < r.start + r.count) return r.owner;
    return 0;
  }
}

/** The frame backing page `index` of a list of runs (in order), or −1. */
export function frameAt(runs: readonly FrameRun[], index: number): number {
  let i = index;
  for (const r of runs) {
    if (i < r.count) return r.start + i;
    i -= r.count;
  }
  return -1;
}
