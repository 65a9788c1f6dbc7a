import { runSoak } from "/work/wt/soak/dist/soak/run.js";
const ops = Number(process.argv[2] ?? 1e8), ep = Number(process.argv[3] ?? 1e7);
const M = 2 ** 20;
const r = runSoak({ ops, epochOps: ep, cores: 1024, onEpoch: (e, i) => {
  const s = e.state, a = e.activity;
  console.log([i, (e.guestOps/1e6).toFixed(0), e.mopsCpu.toFixed(2), e.mopsWall.toFixed(2), (e.rss/M).toFixed(0), (e.heapUsed/M).toFixed(1), (e.rssAfterGc/M).toFixed(0), (e.heapAfterGc/M).toFixed(2), (e.externalAfterGc/M).toFixed(2),
    s.hptValid, s.hptFullPtegs, s.rmapPresent, s.rmapMean.toFixed(2), s.rmapMax, s.framesPresent, s.tlbFill.toFixed(3), s.guestTlbEntries, s.guestHolders,
    a.tlbHitRate.toFixed(4), a.ptegsPerWalk.toFixed(3), a.tlbiesPerMop.toFixed(0), a.entriesPerTlbie.toFixed(2), a.fullFlushesPerMop.toFixed(0), a.cyclesPerOpTotal.toFixed(1),
    Object.entries(a.cyclesPerOp).map(([k,v])=>k+":"+v.toFixed(1)).join(",")].join(" "));
}});
console.log(JSON.stringify({ problems: r.problems, seconds: r.seconds, gc: r.gcForced }));
