import { Session } from "node:inspector/promises";
import type { ChildHandler } from "./child.js";

/** Bytes between two sampled allocations: small enough for a per-call figure from a few seconds of load. */
const SAMPLING_INTERVAL_BYTES = 4096;

interface SamplingProfile {
  samples: unknown[];
}

/**
 * allocationSampler gives a server peer two control messages:
 * `alloc-start` starts V8's sampling heap profiler, counting objects that
 * die young too, and `alloc-stop` answers with an estimate of the bytes
 * allocated meanwhile. Divided by the calls served, that is the heap
 * allocated per call, a figure that moves far less than throughput on a
 * shared machine.
 */
export function allocationSampler(): Record<string, ChildHandler> {
  let session: Session | undefined;
  return {
    async "alloc-start"() {
      if (session !== undefined) throw new Error("alloc-start while sampling");
      session = new Session();
      session.connect();
      await session.post("HeapProfiler.enable");
      await session.post("HeapProfiler.startSampling", {
        samplingInterval: SAMPLING_INTERVAL_BYTES,
        includeObjectsCollectedByMinorGC: true,
        includeObjectsCollectedByMajorGC: true,
      });
      return {};
    },
    async "alloc-stop"() {
      if (session === undefined) throw new Error("alloc-stop before alloc-start");
      const { profile } = (await session.post("HeapProfiler.stopSampling")) as unknown as { profile: SamplingProfile };
      session.disconnect();
      session = undefined;
      // Each sample stands for about one interval's worth of bytes.
      return { bytes: profile.samples.length * SAMPLING_INTERVAL_BYTES };
    },
  };
}
