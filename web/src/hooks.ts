import { useCallback, useEffect, useState } from "react";

import { api } from "./api";

/** The state of one GET: its data once loaded, its error, and a way to load it again. */
export interface Resource<T> {
  data: T | null;
  error: Error | null;
  loading: boolean;
  reload: () => void;
}

/** Loads `path` from the admin API whenever it changes; a null path loads nothing. */
export function useApi<T>(path: string | null): Resource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(path !== null);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    if (path === null) {
      setLoading(false);
      return;
    }
    let current = true;
    setLoading(true);
    setError(null);
    api<T>("GET", path).then(
      (value) => {
        if (current) {
          setData(value);
          setLoading(false);
        }
      },
      (failure: unknown) => {
        if (current) {
          setError(
            failure instanceof Error ? failure : new Error(String(failure)),
          );
          setLoading(false);
        }
      },
    );
    return () => {
      current = false;
    };
  }, [path, generation]);

  const reload = useCallback(() => setGeneration((value) => value + 1), []);
  return { data, error, loading, reload };
}

/** Runs one change against the API at a time, keeping its error for display. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const run = useCallback(
    async <T>(action: () => Promise<T>): Promise<T | null> => {
      setBusy(true);
      setError(null);
      try {
        return await action();
      } catch (failure) {
        setError(failure instanceof Error ? failure.message : String(failure));
        return null;
      } finally {
        setBusy(false);
      }
    },
    [],
  );

  return { busy, error, run };
}
