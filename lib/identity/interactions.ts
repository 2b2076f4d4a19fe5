import type http from 'node:http';
import type Provider from 'oidc-provider';
import { z } from 'zod';
import type { Logger } from '../logger';
import { readForm } from './http-form';
import { interactionErrorPage, loginPage } from './login-page';
import { checkPassword, type DevUser } from './users';

/**
 * The provider's interactions, our own (oidc-provider's devInteractions are development-only):
 * login checks the users file; consent is granted without asking for the first-party clients
 * the stack configures itself, and refused for any other.
 */
const ConsentDetails = z.object({
  missingOIDCScope: z.array(z.string()).optional(),
  missingOIDCClaims: z.array(z.string()).optional(),
  missingResourceScopes: z.record(z.string(), z.array(z.string())).optional(),
});

const PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})(\/login)?$/;

export interface InteractionOptions {
  provider: Provider;
  users: readonly DevUser[];
  firstPartyClients: ReadonlySet<string>;
  logger: Logger;
}

function send(res: http.ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
  });
  res.end(html);
}

/** A request handler for /interaction/…, or null for any other path (the provider's own). */
export function interactionRoutes({ provider, users, firstPartyClients, logger }: InteractionOptions) {
  async function consent(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    details: unknown,
    clientId: string,
    accountId: string,
    grantId: string | undefined,
  ) {
    if (!firstPartyClients.has(clientId)) {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'consent required' });
      return;
    }
    const missing = ConsentDetails.parse(details);
    const grant =
      (grantId ? await provider.Grant.find(grantId) : undefined) ?? new provider.Grant({ accountId, clientId });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    await provider.interactionFinished(
      req,
      res,
      { consent: { grantId: await grant.save() } },
      { mergeWithLastSubmission: true },
    );
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, uid: string, login: boolean) {
    let interaction;
    try {
      interaction = await provider.interactionDetails(req, res);
    } catch {
      // No interaction cookie, an expired interaction, or one that is not this browser's.
      return send(res, 400, interactionErrorPage());
    }
    if (interaction.uid !== uid) return send(res, 400, interactionErrorPage());
    const clientId = String(interaction.params.client_id ?? '');
    const { name, details } = interaction.prompt;

    if (!login && req.method === 'GET') {
      if (name === 'login') return send(res, 200, loginPage({ uid, clientId }));
      const accountId = interaction.session?.accountId;
      if (name === 'consent' && accountId) return consent(req, res, details, clientId, accountId, interaction.grantId);
      return send(res, 400, interactionErrorPage());
    }
    if (login && req.method === 'POST' && name === 'login') {
      const form = await readForm(req);
      const username = form?.get('username')?.trim() ?? '';
      const user = checkPassword(users, username, form?.get('password') ?? '');
      if (!user) {
        // Not the name typed either: people type their password into it by mistake.
        logger.warn({ client: clientId }, 'sign-in refused: wrong username or password');
        return send(res, 401, loginPage({ uid, clientId, username, failed: true }));
      }
      logger.info({ user: user.username, role: user.role, client: clientId }, 'signed in');
      return provider.interactionFinished(
        req,
        res,
        { login: { accountId: user.username } },
        { mergeWithLastSubmission: false },
      );
    }
    res.writeHead(405, { allow: login ? 'POST' : 'GET' }).end();
  }

  return (req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> | null => {
    const match = PATH.exec(pathname);
    if (!match?.[1]) return null;
    return handle(req, res, match[1], Boolean(match[2]));
  };
}
