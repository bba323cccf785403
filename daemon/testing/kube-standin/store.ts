/**
 * The stand-in's object store: objects by resource, namespace and name, with resource versions,
 * uids and timestamps as the API server sets them, label selectors, and watch events.
 */
import type { ResourceType } from "./resources.ts";

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[];
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    finalizers?: string[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export type EventType = "ADDED" | "MODIFIED" | "DELETED";
export interface StoredEvent {
  type: EventType;
  resource: ResourceType;
  object: KubeObject;
  rv: number;
}

/** RFC 3339 in seconds, as metadata timestamps are written. */
export const now = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");

/** Equality-based selectors (`a=b,c!=d,e`), as kubectl and the runtime write them. */
export function matchesSelector(labels: Record<string, string> | undefined, selector: string | null): boolean {
  if (!selector) return true;
  const have = labels ?? {};
  return selector.split(",").every((term) => {
    const t = term.trim();
    if (!t) return true;
    const ne = t.split("!=");
    if (ne.length === 2) return have[ne[0]!.trim()] !== ne[1]!.trim();
    const eq = t.split(/==?/);
    if (eq.length === 2) return have[eq[0]!.trim()] === eq[1]!.trim();
    if (t.startsWith("!")) return !(t.slice(1) in have);
    return t in have;
  });
}

export class Store {
  private rv = 1;
  private readonly objects = new Map<string, KubeObject>();
  private readonly listeners = new Set<(e: StoredEvent) => void>();
  readonly history: StoredEvent[] = [];

  private key(t: ResourceType, namespace: string | undefined, name: string): string {
    return `${t.group}/${t.plural}/${t.namespaced ? namespace : ""}/${name}`;
  }

  get version(): number {
    return this.rv;
  }

  get(t: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const o = this.objects.get(this.key(t, namespace, name));
    return o && structuredClone(o);
  }

  list(t: ResourceType, namespace: string | undefined, selector: string | null = null): KubeObject[] {
    const prefix = `${t.group}/${t.plural}/${t.namespaced && namespace ? namespace : ""}`;
    return [...this.objects.entries()]
      .filter(([k, o]) => k.startsWith(prefix) && (!t.namespaced || !namespace || o.metadata.namespace === namespace) && matchesSelector(o.metadata.labels, selector))
      .map(([, o]) => structuredClone(o));
  }

  /** Objects of any kind that name `uid` as an owner. */
  dependents(uid: string): { t: ResourceType; object: KubeObject }[] {
    const out: { t: ResourceType; object: KubeObject }[] = [];
    for (const [k, o] of this.objects) {
      if (o.metadata.ownerReferences?.some((r) => r.uid === uid)) out.push({ t: this.types.get(k)!, object: structuredClone(o) });
    }
    return out;
  }

  private readonly types = new Map<string, ResourceType>();

  private emit(type: EventType, t: ResourceType, object: KubeObject): void {
    const event = { type, resource: t, object: structuredClone(object), rv: Number(object.metadata.resourceVersion) };
    this.history.push(event);
    if (this.history.length > 5000) this.history.shift();
    for (const l of this.listeners) l(event);
  }

  create(t: ResourceType, object: KubeObject): KubeObject {
    object.metadata.resourceVersion = String(++this.rv);
    const k = this.key(t, object.metadata.namespace, object.metadata.name);
    this.objects.set(k, structuredClone(object));
    this.types.set(k, t);
    this.emit("ADDED", t, object);
    return structuredClone(object);
  }

  /** Replaces an existing object (status updates of the controllers, PUT); undefined if it is gone. */
  update(t: ResourceType, object: KubeObject): KubeObject | undefined {
    const k = this.key(t, object.metadata.namespace, object.metadata.name);
    if (!this.objects.has(k)) return undefined;
    object.metadata.resourceVersion = String(++this.rv);
    this.objects.set(k, structuredClone(object));
    this.emit("MODIFIED", t, object);
    return structuredClone(object);
  }

  /** Changes an object in place with `change`; undefined if it is gone. */
  mutate(t: ResourceType, namespace: string | undefined, name: string, change: (o: KubeObject) => void): KubeObject | undefined {
    const current = this.get(t, namespace, name);
    if (!current) return undefined;
    change(current);
    return this.update(t, current);
  }

  remove(t: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const k = this.key(t, namespace, name);
    const o = this.objects.get(k);
    if (!o) return undefined;
    this.objects.delete(k);
    this.types.delete(k);
    o.metadata.resourceVersion = String(++this.rv);
    this.emit("DELETED", t, o);
    return structuredClone(o);
  }

  subscribe(listener: (e: StoredEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
