import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { CliPgAdapterFactory } from './prisma/cli-adapter';

// Without this, a schema error or a missing DATABASE_URL surfaces as a failed engine download.
process.env.PRISMA_QUERY_ENGINE_LIBRARY ??= '/bin/false';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  adapter: async () => {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/pilots)');
    return new CliPgAdapterFactory(url);
  },
});
