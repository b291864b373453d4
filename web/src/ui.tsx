import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { ApiError, DynoState } from './api';
import { sparkPoints } from './format';

/** An API error where it happened, with the API's own message. */
export function ErrorNote({ error, what }: { error: ApiError | undefined; what?: string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {what ? <strong>{what}: </strong> : null}
      {error.message}
      {error.status ? <span class="muted"> ({error.status}{error.id && error.id !== 'error' ? ` ${error.id}` : ''})</span> : null}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** What stands for a polled list while it has no rows to show: its load error, its first load, or its emptiness. */
export function ListStates({ error, loading, empty }: { error: { error: ApiError | undefined; what: string }; loading?: string; empty?: ComponentChildren }) {
  return (
    <>
      <ErrorNote error={error.error} what={error.what} />
      {loading ? <Loading what={loading} /> : null}
      {empty ? <Empty>{empty}</Empty> : null}
    </>
  );
}

/** A table in its scrolling wrapper, with its column headings and, when it has them, an unlabelled actions column. */
export function DataTable({ name, columns, actions, children }: { name: string; columns: string[]; actions?: boolean; children: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table class={name}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col" key={c}>
                {c}
              </th>
            ))}
            {actions ? (
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export function StateBadge({ state }: { state: DynoState | string }) {
  return <span class={`badge state-${state}`}>{state}</span>;
}

/** A modal confirmation (native <dialog>: focus trapped, Esc cancels). */
export function Confirm(props: {
  open: boolean;
  title: string;
  children?: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  /** When set, the confirm button waits until this exact text is typed (destroying an app). */
  typeToConfirm?: string;
  busy?: boolean;
  error?: ApiError;
  onConfirm(): void;
  onCancel(): void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const [typed, setTyped] = useState('');
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) {
      setTyped('');
      d.showModal();
    } else if (!props.open && d.open) d.close();
  }, [props.open]);
  const ready = !props.typeToConfirm || typed === props.typeToConfirm;
  return (
    <dialog ref={ref} class="confirm" aria-labelledby={titleId} onCancel={(e) => (e.preventDefault(), props.onCancel())}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (ready && !props.busy) props.onConfirm();
        }}
      >
        <h2 id={titleId}>{props.title}</h2>
        {props.children}
        {props.typeToConfirm ? (
          <label class="field">
            Type <code>{props.typeToConfirm}</code> to confirm
            <input value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autoComplete="off" spellcheck={false} autoFocus />
          </label>
        ) : null}
        <ErrorNote error={props.error} />
        <div class="actions">
          <button type="button" onClick={props.onCancel}>
            Cancel
          </button>
          <button type="submit" class={props.danger ? 'danger' : 'primary'} disabled={!ready || props.busy} autoFocus={!props.typeToConfirm}>
            {props.busy ? 'Working…' : props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** A small line chart of recent values. */
export function Sparkline({ values, max, label, width = 90, height = 24 }: { values: (number | null)[]; max?: number; label: string; width?: number; height?: number }) {
  const points = sparkPoints(values, width, height, max);
  return (
    <svg class="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label={label}>
      <title>{label}</title>
      {points ? <polyline points={points} fill="none" stroke="currentColor" stroke-width="1.5" /> : null}
    </svg>
  );
}

/** Read-only text with a Copy button (selects the text where the clipboard is not available). */
export function CopyField({ label, value }: { label: string; value: string }) {
  const ref = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      ref.current?.select();
    }
  };
  return (
    <label class="field copy">
      {label}
      <span class="row">
        <input ref={ref} readOnly value={value} onFocus={(e) => e.currentTarget.select()} spellcheck={false} />
        <button type="button" onClick={copy} aria-label={`Copy ${label}`}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </span>
    </label>
  );
}
