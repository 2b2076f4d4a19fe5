import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Sealed PDFs, stored once by content hash; workflow history only ever sees the hash. */
export interface DocumentStore {
  put(bytes: Buffer): Promise<{ sha256: string; sizeBytes: number; stored: boolean }>;
  pathOf(sha256: string): string;
}

export function createDocumentStore(dir: string): DocumentStore {
  const pathOf = (sha256: string) => path.join(dir, sha256.slice(0, 2), `${sha256}.pdf`);
  return {
    pathOf,
    async put(bytes) {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const target = pathOf(sha256);
      try {
        await fs.access(target);
        return { sha256, sizeBytes: bytes.length, stored: false };
      } catch {
        await fs.mkdir(path.dirname(target), { recursive: true });
        // Write aside, then rename: a crash never leaves a half file under the hash's name.
        const temporary = `${target}.${randomUUID()}.part`;
        await fs.writeFile(temporary, bytes, { flag: 'wx' });
        await fs.rename(temporary, target);
        return { sha256, sizeBytes: bytes.length, stored: true };
      }
    },
  };
}
