/**
 * Which dyno gets a request: round-robin over an app's endpoints, passing over one that refused a connection
 * lately (for downMs) unless nothing else is left, and never one this request tried already.
 */
import type { Endpoint, Route } from './routes.js';

export class DynoPicker {
  /** "host:port" of an endpoint, made once per endpoint object (route tables hand out the same objects). */
  private readonly keys = new WeakMap<Endpoint, string>();
  private readonly cursor = new Map<string, number>();
  /** Endpoints that refused a connection lately, until when. */
  private readonly down = new Map<string, number>();

  constructor(private readonly downMs: number) {}

  keyOf(e: Endpoint): string {
    let k = this.keys.get(e);
    if (k === undefined) this.keys.set(e, (k = `${e.host}:${e.port}`));
    return k;
  }

  /** The dyno at key refused a connection: passed over for a while. */
  markDown(key: string): void {
    this.down.set(key, Date.now() + this.downMs);
  }

  pick(route: Route, tried?: string[]): Endpoint | undefined {
    const n = route.endpoints.length;
    const start = this.cursor.get(route.appId) ?? 0;
    let fallback: { e: Endpoint; i: number } | undefined;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const e = route.endpoints[(start + i) % n];
      const key = this.keyOf(e);
      if (tried?.includes(key)) continue;
      const until = this.down.get(key);
      if (until !== undefined) {
        if (until > now) {
          fallback ??= { e, i };
          continue;
        }
        this.down.delete(key);
      }
      this.cursor.set(route.appId, (start + i + 1) % n);
      return e;
    }
    if (fallback) this.cursor.set(route.appId, (start + fallback.i + 1) % n);
    return fallback?.e;
  }
}
