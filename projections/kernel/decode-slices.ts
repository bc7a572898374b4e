/**
 * Time slices for the projector's decoding (decrypt, upcast, validate), which runs on the thread that also
 * drives the transaction in flight: every round trip of that transaction waits for the slice running when
 * its reply arrives. So decoding gives the event loop a turn every `sliceMs`, and however many batches
 * are being decoded at once (their key-store lookups overlap: they are I/O), at most ONE of them runs a
 * slice per event-loop turn — the oldest (lowest `seq`, the hand-over order, which is the order batches are
 * applied in), so the batch the next transaction waits for is never held back by later ones.
 */
export interface DecodeSlices {
  /** The `pause` hook (platform/pii/codec.ts) for the batch handed over as number `seq`. */
  pauser(seq: number): () => Promise<void> | undefined;
}

export function decodeSlices(sliceMs = 2, now: () => number = () => performance.now()): DecodeSlices {
  // Waiting decoders, kept sorted by seq (a handful at most: the batches of one or two fetches).
  const waiting: { readonly seq: number; readonly resolve: () => void }[] = [];
  let scheduled = false;
  let since = now();
  const turn = () => {
    scheduled = false;
    const next = waiting.shift();
    if (!next) return;
    since = now();
    next.resolve();
    // Callbacks set during the check phase run on the NEXT loop turn: replies in between get theirs.
    if (waiting.length > 0) schedule();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(turn);
  };
  return {
    pauser: (seq) => () => {
      if (now() - since < sliceMs) return undefined;
      return new Promise<void>((resolve) => {
        let i = waiting.length;
        while (i > 0 && waiting[i - 1]!.seq > seq) i--;
        waiting.splice(i, 0, { seq, resolve });
        schedule();
      });
    },
  };
}
