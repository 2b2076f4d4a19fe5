/**
 * oidc-provider 9 and jose 6 are ES modules only. Node 24 loads them with a plain require(), but
 * Jest's module registry does not (it would hand their `import` statements to the CommonJS
 * wrapper), so they are loaded through Node's own require, which `process.getBuiltinModule` gives
 * without going through Jest's mocked `module`. Under tsx and plain Node this is the same require.
 */
import type * as Jose from 'jose';
import type * as OidcProvider from 'oidc-provider';

const nodeRequire = process.getBuiltinModule('node:module').createRequire(__filename);

export type OidcProviderModule = typeof OidcProvider;
export type JoseModule = typeof Jose;

export const loadOidcProvider = (): OidcProviderModule => nodeRequire('oidc-provider') as OidcProviderModule;
export const loadJose = (): JoseModule => nodeRequire('jose') as JoseModule;
