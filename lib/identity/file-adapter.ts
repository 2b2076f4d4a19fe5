import fs from 'node:fs';
import path from 'node:path';
import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * oidc-provider's storage (sessions, interactions, authorization codes, grants, refresh tokens)
 * as one JSON file per model in the data directory, so a restart keeps people signed in and a
 * code issued just before it still redeems. The built-in memory adapter is development-only and
 * forgets everything. For one provider process: the files are its own, read once and rewritten
 * whole (to a temporary file, then renamed) after every change, in the order changes were made.
 */
interface Entry {
  payload: AdapterPayload;
  /** Epoch milliseconds; null: kept until destroyed. */
  expiresAt: number | null;
}

interface Store {
  entries: Map<string, Entry>;
  /** The last write, so writes land in order. */
  written: Promise<void>;
}

/** Models looked up by a secondary key, as oidc-provider requires. */
const BY_UID = 'Session';
const BY_USER_CODE = 'DeviceCode';

export function fileAdapterFactory(dir: string): (model: string) => Adapter {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stores = new Map<string, Store>();

  function storeOf(model: string): Store {
    let store = stores.get(model);
    if (!store) {
      store = { entries: load(path.join(dir, `${model}.json`)), written: Promise.resolve() };
      stores.set(model, store);
    }
    return store;
  }

  function persist(model: string, store: Store): Promise<void> {
    const file = path.join(dir, `${model}.json`);
    const now = Date.now();
    for (const [id, entry] of store.entries)
      if (entry.expiresAt !== null && entry.expiresAt <= now) store.entries.delete(id);
    const text = JSON.stringify(Object.fromEntries(store.entries));
    const write = store.written.then(async () => {
      const temporary = `${file}.${process.pid}.tmp`;
      await fs.promises.writeFile(temporary, text, { mode: 0o600 });
      await fs.promises.rename(temporary, file);
    });
    // A failed write fails its own request; the next one still runs (and writes everything).
    store.written = write.catch(() => undefined);
    return write;
  }

  return (model: string): Adapter => {
    const live = (id: string): Entry | undefined => {
      const entry = storeOf(model).entries.get(id);
      if (!entry || (entry.expiresAt !== null && entry.expiresAt <= Date.now())) return undefined;
      return entry;
    };
    const findBy = (matches: (payload: AdapterPayload) => boolean): AdapterPayload | undefined => {
      for (const id of storeOf(model).entries.keys()) {
        const entry = live(id);
        if (entry && matches(entry.payload)) return entry.payload;
      }
      return undefined;
    };
    return {
      async upsert(id, payload, expiresIn) {
        const store = storeOf(model);
        store.entries.set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : null });
        await persist(model, store);
      },
      async find(id) {
        return live(id)?.payload;
      },
      async findByUid(uid) {
        return model === BY_UID ? findBy((p) => p.uid === uid) : undefined;
      },
      async findByUserCode(userCode) {
        return model === BY_USER_CODE ? findBy((p) => p.userCode === userCode) : undefined;
      },
      async consume(id) {
        const entry = live(id);
        if (!entry) return;
        entry.payload = { ...entry.payload, consumed: Math.floor(Date.now() / 1000) };
        await persist(model, storeOf(model));
      },
      async destroy(id) {
        const store = storeOf(model);
        if (store.entries.delete(id)) await persist(model, store);
      },
      async revokeByGrantId(grantId) {
        // oidc-provider calls this on each token model in turn (access, refresh, code, ...).
        const store = storeOf(model);
        let changed = false;
        for (const [id, entry] of store.entries) {
          if (entry.payload.grantId === grantId) changed = store.entries.delete(id) || changed;
        }
        if (changed) await persist(model, store);
      },
    };
  };
}

function load(file: string): Map<string, Entry> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  try {
    return new Map(Object.entries(JSON.parse(text) as Record<string, Entry>));
  } catch {
    // A store cut short by a crash mid-write cannot happen (rename), but a hand edit can: start
    // empty rather than refuse to run; people sign in again.
    return new Map();
  }
}
