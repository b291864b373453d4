/**
 * A dyno's output to its app's log, a line at a time, at most maxLines a second. Beyond the cap lines are dropped
 * and counted (Heroku's L10); the count is logged when the second is over, whether or not the dyno writes again. A
 * dyno writing at several times the cap (`yes`) has its output held back for the rest of the second, so reading
 * what would be dropped cannot cost the agent a core: its writes wait on the full pipe.
 */
import type { LogSink } from './agent-types.js';
import type { DynoSpec } from '../runner.js';

/** Past this many times the lines-per-second cap within a second, a dyno's output is held back, not read. */
const HOLD_AFTER = 4;

export function dynoOutput(
  spec: DynoSpec,
  o: { maxLines: number; logs: LogSink; event: (line: string) => void; later: (ms: number, fn: () => void) => void },
): (line: string) => void | number {
  let windowStart = Date.now();
  let count = 0;
  let dropped = 0;
  const report = () => {
    if (dropped === 0) return;
    o.event(`Error L10 (output buffer overflow) -> ${dropped} log lines dropped: the dyno wrote more than ${o.maxLines} lines a second`);
    dropped = 0;
  };
  return (line) => {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      report();
      windowStart = now;
      count = 0;
    }
    if (++count <= o.maxLines) {
      o.logs.write(spec.appId, 'app', spec.name, line);
      return undefined;
    }
    if (dropped++ === 0) o.later(Math.max(0, windowStart + 1000 - now), report);
    // Until just past the second's end (a timer may fire a millisecond early), so reading resumes in a new one.
    if (count > o.maxLines * HOLD_AFTER) return windowStart + 1005 - now;
  };
}
