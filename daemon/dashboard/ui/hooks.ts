import { useEffect, useState } from "preact/hooks";
import { useLocation } from "preact-iso";

/**
 * Reads `read()` now and again `everyMs` later, until `done(value)` says nothing more will change
 * (a job that ended) or the inputs in `deps` change. Statuses change on the page without a reload.
 */
export function usePolled<T>(read: () => Promise<T>, everyMs: number, deps: readonly unknown[], done?: (value: T) => boolean) {
  const [value, setValue] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Bumped to read again at once and poll anew (after an action the page took).
  const [round, setRound] = useState(0);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const next = await read();
        if (stopped) return;
        setValue(next);
        setError(null);
        if (done?.(next)) return;
      } catch (e) {
        if (!stopped) setError(e);
      }
      if (!stopped) timer = setTimeout(load, everyMs);
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [...deps, round]);
  return { value, error, setValue, setError, refresh: () => setRound((r) => r + 1) };
}

/**
 * A list read once (and again after each change made through `run`): the shape of the project
 * page's cards. `run` reports an error in the card and answers whether the change went through.
 */
export function useListed<T>(read: () => Promise<T[]>, deps: readonly unknown[]) {
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => read().then(setItems, setError);
  useEffect(() => void load(), deps);
  const run = async (action: () => Promise<unknown>): Promise<boolean> => {
    setError(null);
    try {
      await action();
      await load();
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  };
  return { items, error, run };
}

/** List filters kept in the address (`?project=web&status=failure`), so a filtered list can be linked and reloaded. */
export function useQueryFilters<K extends string>(keys: readonly K[]) {
  const { query, path, route } = useLocation();
  const values = Object.fromEntries(keys.map((k) => [k, query[k] ?? ""])) as Record<K, string>;
  const go = (changes: Partial<Record<K | "offset", string>>) => {
    // A changed filter starts again at the first page: `offset` stays only when given.
    const next = new URLSearchParams({ ...values, ...changes } as Record<string, string>);
    for (const [k, v] of [...next]) if (!v) next.delete(k);
    const s = next.toString();
    route(`${path}${s ? `?${s}` : ""}`);
  };
  return { values, offset: Number(query.offset ?? 0) || 0, go };
}
