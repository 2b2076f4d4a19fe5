import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { Role } from '../../domain/pilot';
import { readOrCreateSecretFile } from './secret-file';

/**
 * The development users of the embedded identity provider: one per role, passwords made once
 * (crypto random) and kept in plain text in a 0600 file, since the developer reads them from there
 * to sign in. Production uses an issuer of its own and never this file.
 */
export const DevUser = z.object({
  username: z.string().min(1).max(100),
  role: Role,
  password: z.string().min(16),
});
export type DevUser = z.infer<typeof DevUser>;
const UsersFile = z.object({ users: z.array(DevUser).min(1) });

export const devUsername = (role: Role) => `dev-${role}`;

function newUsers(): z.infer<typeof UsersFile> {
  return {
    users: Role.options.map((role) => ({
      username: devUsername(role),
      role,
      password: randomBytes(18).toString('base64url'),
    })),
  };
}

export function ensureUsers(file: string): DevUser[] {
  return readOrCreateSecretFile(file, UsersFile, newUsers, 'identity provider users').users;
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * The user whose username and password both match, else null. Every user's password is compared
 * (in constant time on digests), so timing tells neither which name exists nor how much matched.
 */
export function checkPassword(users: readonly DevUser[], username: string, password: string): DevUser | null {
  const presented = digest(password);
  let found: DevUser | null = null;
  for (const user of users) {
    const match = timingSafeEqual(digest(user.password), presented);
    if (match && user.username === username) found = user;
  }
  return found;
}
