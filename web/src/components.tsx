import { ReactNode } from "react";

import { Resource } from "./hooks";

/** Renders a resource's loading, error and empty states, and `children` once it has data. */
export function Loadable<T>(props: {
  resource: Resource<T>;
  label: string;
  isEmpty?: (data: T) => boolean;
  empty?: string;
  children: (data: T) => ReactNode;
}) {
  const { resource, label } = props;
  if (resource.error) {
    return (
      <div className="error" role="alert">
        <p>
          Could not load {label}: {resource.error.message}
        </p>
        <button type="button" onClick={resource.reload}>
          Try again
        </button>
      </div>
    );
  }
  if (resource.data === null) {
    return (
      <p className="loading" role="status">
        Loading {label}…
      </p>
    );
  }
  if (props.isEmpty?.(resource.data)) {
    return <p className="empty">{props.empty ?? `No ${label} yet.`}</p>;
  }
  return <>{props.children(resource.data)}</>;
}

/** An error message from a failed action. */
export function ActionError(props: { error: string | null }) {
  return props.error ? (
    <p className="error" role="alert">
      {props.error}
    </p>
  ) : null;
}

/** A table that scrolls sideways on narrow screens instead of widening the page. */
export function TableBox(props: { label: string; children: ReactNode }) {
  return (
    <div
      className="table-box"
      role="region"
      aria-label={props.label}
      tabIndex={0}
    >
      <table>{props.children}</table>
    </div>
  );
}

/** A small figure with a label, for totals. */
export function Stat(props: { label: string; value: string; note?: string }) {
  return (
    <div className="stat">
      <div className="stat-label">{props.label}</div>
      <div className="stat-value">{props.value}</div>
      {props.note ? <div className="stat-note">{props.note}</div> : null}
    </div>
  );
}
