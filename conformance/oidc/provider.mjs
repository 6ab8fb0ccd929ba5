// A real OpenID Provider (panva/oidc-provider) for Rolegate's login checks, logging users in
// without a browser: the interaction page logs in the account named by `login_hint` and
// grants what was asked.
//
// Usage: node provider.mjs PORT KEYS_FILE ACCOUNTS_FILE REDIRECT_URI...
//   KEYS_FILE      signing keys (JWKS with private parts); created with a fresh RSA key when
//                  missing, so deleting it and restarting rotates the provider's key.
//   ACCOUNTS_FILE  {"<id>": {claims}}, read at every login, so a test can change an
//                  account's groups between logins.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const [port, keysFile, accountsFile, ...redirectUris] = process.argv.slice(2);

if (!existsSync(keysFile)) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
  writeFileSync(keysFile, JSON.stringify({ keys: [jwk] }));
}
const jwks = JSON.parse(readFileSync(keysFile, 'utf8'));

const accounts = () => JSON.parse(readFileSync(accountsFile, 'utf8'));

const configuration = {
  clients: [{
    client_id: 'rolegate',
    client_secret: 'rolegate-conformance-secret',
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks,
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  // Scope claims go into the ID token itself, where Rolegate's claim mapper reads them.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['rolegate-conformance-cookie-key'] },
  async findAccount(ctx, id) {
    const account = accounts()[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
};

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, configuration);

provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/interaction/')) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const accountId = details.params.login_hint;
  if (!accountId || !accounts()[accountId]) {
    const result = { error: 'access_denied', error_description: 'unknown test account' };
    return provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  }
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  const result = { login: { accountId }, consent: { grantId } };
  ctx.respond = false;
  return provider.interactionFinished(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`OpenID Provider ${issuer} (key ${jwks.keys[0].kid})`);
});
