/**
 * The router's line in an app's log, Heroku's format, assembled in one place:
 * `at=info method=GET path="/" host=… request_id=… fwd="…" dyno=web.1 connect=0ms service=3ms status=200 bytes=… protocol=http`
 * and for errors `at=error code=H12 desc="Request timeout" …`. Fields that a line does not have are left out.
 */
export interface LineFields {
  method: string;
  path: string;
  host?: string;
  requestId?: string;
  /** Only on a completed request's line. */
  fwd?: string;
  /** '' when no dyno was chosen (H10, H14, H80). */
  dyno?: string;
  connectMs?: number;
  serviceMs?: number;
  status: number;
  bytes?: number;
  protocol?: 'http' | 'websocket';
}

/** A quoted value: quotes and backslashes dropped, at most 500 characters. */
export const quote = (s: string): string => `"${s.replace(/["\\]/g, '').slice(0, 500)}"`;

export function logLine(f: LineFields, error?: { code: string; desc: string }, at: 'info' | 'error' = error ? 'error' : 'info'): string {
  let s = `at=${at}`;
  if (error) s += ` code=${error.code} desc="${error.desc}"`;
  s += ` method=${f.method} path=${quote(f.path)}`;
  if (f.host !== undefined) s += ` host=${f.host}`;
  if (f.requestId !== undefined) s += ` request_id=${f.requestId}`;
  if (f.fwd !== undefined) s += ` fwd=${quote(f.fwd)}`;
  if (f.dyno !== undefined) s += ` dyno=${f.dyno}`;
  if (f.connectMs !== undefined) s += ` connect=${f.connectMs}ms`;
  if (f.serviceMs !== undefined) s += ` service=${f.serviceMs}ms`;
  s += ` status=${f.status}`;
  if (f.bytes !== undefined) s += ` bytes=${f.bytes}`;
  if (f.protocol !== undefined) s += ` protocol=${f.protocol}`;
  return s;
}
