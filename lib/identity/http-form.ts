import type http from 'node:http';

/** A sign-in form is two short fields: anything larger is not one. */
const MAX_FORM_BYTES = 8 * 1024;

/** The fields of an application/x-www-form-urlencoded body, or null when it is not one or too large. */
export async function readForm(req: http.IncomingMessage): Promise<URLSearchParams | null> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
