// A background round every `everyMs` until stopped: the next round is timed from the end
// of the last, so rounds never overlap; a failing round is reported and the next one
// still comes; the timer does not keep the process alive. stop() waits for a round in
// progress. Used by the audit settler and the email worker.
export interface Repeating {
  stop(): Promise<void>;
}

export function repeatEvery(
  everyMs: number,
  round: () => Promise<unknown>,
  onError: (err: unknown) => void,
): Repeating {
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = round()
      .catch(onError)
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, everyMs).unref();
      });
  };
  let timer = setTimeout(tick, everyMs).unref();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
