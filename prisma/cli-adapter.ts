/**
 * The driver adapter the Prisma CLI (migrate deploy / diff / status) uses instead of a native
 * schema engine, which cannot be downloaded on offline machines. Prisma 6.19.3's PrismaPg has four
 * defects on the CLI side; each is fixed here and only here (the application uses PrismaPg as is).
 * See ../shared/notes/prisma-offline.md.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';

type Adapter = Awaited<ReturnType<PrismaPg['connect']>>;
type PgField = { dataTypeID: number };

const PG_CHAR = 18;
const PG_NAME = 19;
const PG_TEXT = 25;
const LINGERING_TIMER_MS = 10_000;

let patched = false;

function patchProcessOnce(): void {
  if (patched) return;
  patched = true;

  // Defect 1 (prisma/orm#27403): pg_catalog columns of type name/"char" fail to deserialize.
  const result = pg.Result.prototype as unknown as { addFields(fields: PgField[]): void };
  const addFields = result.addFields;
  result.addFields = function (this: unknown, fields: PgField[]) {
    for (const field of fields) {
      if (field.dataTypeID === PG_NAME || field.dataTypeID === PG_CHAR) field.dataTypeID = PG_TEXT;
    }
    return addFields.call(this, fields);
  };

  // Defect 4: the wasm schema engine leaves long timers running and the CLI never exits.
  const setTimeoutOriginal = globalThis.setTimeout;
  const setIntervalOriginal = globalThis.setInterval;
  const unrefLong = <T extends typeof setTimeout | typeof setInterval>(original: T): T =>
    ((handler: () => void, ms?: number, ...args: unknown[]) => {
      const timer = (original as (...a: unknown[]) => NodeJS.Timeout)(handler, ms, ...args);
      if ((ms ?? 0) >= LINGERING_TIMER_MS) timer.unref();
      return timer;
    }) as unknown as T;
  globalThis.setTimeout = unrefLong(setTimeoutOriginal);
  globalThis.setInterval = unrefLong(setIntervalOriginal);
}

/** Defect 2: executeScript splits at every ';' and breaks dollar-quoted bodies: send it whole. */
function runScriptsWhole(adapter: Adapter): Adapter {
  const pool = adapter.underlyingDriver() as pg.Pool;
  adapter.executeScript = async (script: string) => {
    await pool.query(script);
  };
  return adapter;
}

function withDatabase(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${database}`;
  return url.toString();
}

export class CliPgAdapterFactory {
  readonly provider = 'postgres' as const;
  readonly adapterName: string;
  private readonly inner: PrismaPg;

  constructor(private readonly connectionString: string) {
    patchProcessOnce();
    // allowExitOnIdle: idle pooled connections must not keep the CLI alive for the pool's 10 s idle timeout.
    this.inner = new PrismaPg({ connectionString, allowExitOnIdle: true });
    this.adapterName = this.inner.adapterName;
  }

  async connect(): Promise<Adapter> {
    return runScriptsWhole(await this.inner.connect());
  }

  /** Defect 3: PrismaPg points the shadow database at the main one (P3006). */
  async connectToShadowDb(): Promise<Adapter> {
    const database = `prisma_shadow_${randomUUID().replace(/-/g, '')}`;
    const admin = new pg.Client({ connectionString: this.connectionString });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${database}"`);
    } finally {
      await admin.end();
    }
    const shadow = await new PrismaPg({
      connectionString: withDatabase(this.connectionString, database),
      allowExitOnIdle: true,
    }).connect();
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      const dropper = new pg.Client({ connectionString: this.connectionString });
      await dropper.connect();
      try {
        await dropper.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    };
    return runScriptsWhole(shadow);
  }
}
