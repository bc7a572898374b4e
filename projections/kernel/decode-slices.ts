/**
 * Time slices for the projector's decoding (decrypt, upcast, validate), which runs on the thread that also
 * drives the transaction in flight: every round trip of that transaction waits for the slice running when
 * its reply arrives. So decoding gives the event loop a turn every `sliceMs`, and however many batches
 * are being read at once, at most ONE of them runs a slice per event-loop turn. Which one:
 * 1. the HEAD — the oldest batch still being read (lowest `seq`: hand-over order, the order batches are
 *    applied in) — whenever it wants a slice: the next transaction waits for it;
 * 2. else a batch still in its `prepare` stage (parsing, before its one key-store lookup), oldest first: its
 *    lookup — I/O, tens of milliseconds on a busy server — then overlaps the decoding of older batches
 *    instead of queueing behind it;
 * 3. else the oldest batch that wants to decode.
 */
export type SliceStage = 'prepare' | 'decode';

export interface DecodeSlices {
  /** The `pause` hook (platform/pii/codec.ts) for the batch handed over as number `seq`; call `done(seq)` once it is read. */
  pauser(seq: number): (stage?: SliceStage) => Promise<void> | undefined;
  /** The batch `seq` is read (or failed): it is no longer the head. */
  done(seq: number): void;
}

export function decodeSlices(sliceMs = 2, now: () => number = () => performance.now()): DecodeSlices {
  // Batches being read, and the waiting ones (a handful at most: the batches of one or two fetches).
  const active = new Set<number>();
  const waiting: { readonly seq: number; readonly stage: SliceStage; readonly resolve: () => void }[] = [];
  let scheduled = false;
  let since = now();
  const head = (): number => {
    let min = Number.POSITIVE_INFINITY;
    for (const s of active) if (s < min) min = s;
    return min;
  };
  const pick = (): number => {
    const h = head();
    let best = -1;
    for (let i = 0; i < waiting.length; i++) {
      const w = waiting[i]!;
      if (w.seq === h) return i;
      if (best < 0) best = i;
      else {
        const b = waiting[best]!;
        if ((w.stage === 'prepare' && b.stage !== 'prepare') || (w.stage === b.stage && w.seq < b.seq)) best = i;
      }
    }
    return best;
  };
  const turn = () => {
    scheduled = false;
    const i = pick();
    if (i < 0) return;
    const [next] = waiting.splice(i, 1);
    since = now();
    next!.resolve();
    // Callbacks set during the check phase run on the NEXT loop turn: replies in between get theirs.
    if (waiting.length > 0) schedule();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(turn);
  };
  return {
    pauser: (seq) => {
      active.add(seq);
      return (stage = 'decode') => {
        if (now() - since < sliceMs) return undefined;
        return new Promise<void>((resolve) => {
          waiting.push({ seq, stage, resolve });
          schedule();
        });
      };
    },
    done: (seq) => {
      active.delete(seq);
    },
  };
}
