import { EntityClass, EventSubscriber, MikroORM } from "@mikro-orm/core";

/**
 * A map whose entries expire `ttlMs` milliseconds after they were stored, holding at most `maxEntries`; when full,
 * the oldest entry makes room. A TTL of 0 stores nothing.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; storedAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(key: K, now = Date.now()): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) {
      return undefined;
    }
    if (now - entry.storedAt >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: K, value: V, now = Date.now()): void {
    if (this.ttlMs <= 0) {
      return;
    }
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value as K);
    }
    this.entries.set(key, { value, storedAt: now });
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * Clears `cache` whenever an entity of these classes is created, updated or deleted through the ORM in this
 * process, and again when that transaction commits, so a lookup made between the change and its commit is not kept.
 * Changes written by hand-written SQL or by other processes are not seen; the cache's TTL bounds those.
 */
export function clearOnEntityChange(
  orm: MikroORM,
  entities: EntityClass<object>[],
  cache: { clear(): void },
): void {
  let changed = false;
  const onChange = () => {
    changed = true;
    cache.clear();
  };
  const subscriber: EventSubscriber = {
    getSubscribedEntities: () => entities,
    afterCreate: onChange,
    afterUpdate: onChange,
    afterUpsert: onChange,
    afterDelete: onChange,
    afterTransactionCommit: () => {
      if (changed) {
        changed = false;
        cache.clear();
      }
    },
  };
  orm.em.getEventManager().registerSubscriber(subscriber);
}
