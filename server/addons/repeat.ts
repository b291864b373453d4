/** A pass run now and then again every ms after each one ends (never two at once), until stopped. */
export interface Repeating {
  /** The first pass. */
  first: Promise<void>;
  /** No more passes; resolves once a pass under way has ended. */
  stop(): Promise<void>;
}

export function repeatEvery(ms: number, pass: () => Promise<unknown>, onError: (e: Error) => void): Repeating {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  const tick = () => {
    current = pass().then(() => undefined, onError);
    void current.then(() => {
      if (!stopped) timer = setTimeout(tick, ms);
    });
  };
  tick();
  return {
    first: current,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
