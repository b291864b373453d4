import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import type { AppData } from './app';

const MAX_LINES = 2000;
type Status = 'connecting' | 'live' | 'reconnecting' | 'error';

/** The app's log, live: filter by source and dyno, pause (lines wait while paused), clear. */
export function LogsTab({ app, dynos }: AppData) {
  const [source, setSource] = useState('');
  const [dyno, setDyno] = useState('');
  const [paused, setPaused] = useState(false);
  const [lines, setLines] = useState<string[]>([]);
  const [held, setHeld] = useState(0);
  const [status, setStatus] = useState<Status>('connecting');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const waiting = useRef<string[]>([]);
  const pre = useRef<HTMLPreElement>(null);

  useEffect(() => {
    const ac = new AbortController();
    let incoming: string[] = [];
    setLines([]);
    waiting.current = [];
    setHeld(0);
    setStatus('connecting');
    setProblem(undefined);
    const flush = setInterval(() => {
      if (!incoming.length) return;
      const add = incoming;
      incoming = [];
      if (pausedRef.current) {
        waiting.current = waiting.current.concat(add).slice(-MAX_LINES);
        setHeld(waiting.current.length);
      } else setLines((l) => l.concat(add).slice(-MAX_LINES));
    }, 100);
    let first = true;
    const connect = async () => {
      while (!ac.signal.aborted) {
        try {
          setStatus(first ? 'connecting' : 'reconnecting');
          // After a reconnect, only new lines: the old ones are on the screen already.
          const lines = first ? 200 : 0;
          first = false;
          await api.tailLogs(app.name, { source, dyno, lines }, (line) => incoming.push(line), ac.signal, () => {
            setStatus('live');
            setProblem(undefined);
          });
        } catch (e) {
          if ((e as Error).name === 'AbortError') return;
          setProblem((e as Error).message);
          setStatus('error');
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
    };
    void connect();
    return () => {
      ac.abort();
      clearInterval(flush);
    };
  }, [app.name, source, dyno]);

  useEffect(() => {
    const el = pre.current;
    if (el && !paused) el.scrollTop = el.scrollHeight;
  }, [lines, paused]);

  const resume = () => {
    setLines((l) => l.concat(waiting.current).slice(-MAX_LINES));
    waiting.current = [];
    setHeld(0);
    setPaused(false);
  };
  const names = [...new Set((dynos.data ?? []).flatMap((d) => [d.type, d.name]))].sort();
  return (
    <div class="logs">
      <div class="section-head">
        <h2>Logs</h2>
        <span class={`badge stream-${status}`} role="status" aria-live="polite">
          {status === 'live' ? (paused ? 'paused' : 'live') : status}
        </span>
      </div>
      <div class="row wrap log-controls">
        <label class="field">
          Source
          <select value={source} onChange={(e) => setSource(e.currentTarget.value)}>
            <option value="">all</option>
            <option value="app">app (your dynos)</option>
            <option value="router">router</option>
            <option value="slipway">slipway (platform)</option>
          </select>
        </label>
        <label class="field">
          Dyno
          <select value={dyno} onChange={(e) => setDyno(e.currentTarget.value)}>
            <option value="">all</option>
            {names.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => (paused ? resume() : setPaused(true))} aria-pressed={paused}>
          {paused ? `Resume${held ? ` (${held} new)` : ''}` : 'Pause'}
        </button>
        <button type="button" onClick={() => setLines([])}>
          Clear
        </button>
      </div>
      {problem ? (
        <p class="error" role="alert">
          Log stream: {problem} (retrying)
        </p>
      ) : null}
      <pre ref={pre} class="log" tabIndex={0} aria-label="Log lines" data-lines={lines.length}>
        {lines.length ? lines.join('\n') : <span class="muted">Waiting for log lines…</span>}
      </pre>
    </div>
  );
}
