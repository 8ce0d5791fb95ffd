// The EHR's authorization server for HealthRec's SMART App Launch tests: oidc-provider (a certified OpenID Connect /
// OAuth 2.0 implementation) mounted under /oauth beside the FHIR engine, configured as SMART App Launch 2.2 asks:
// authorization code with PKCE S256 only, the SMART scopes, the `launch` and `aud` parameters, the launch context
// (`patient`, `need_patient_banner`) in the token response and `fhirUser` in the id_token.
//
// The human steps of a real EHR (sign-in, consent, patient picker) are automated: the interaction handler signs in a
// fixed practitioner and grants what was asked, or denies when a test has asked it to. Clients are registered through
// Dynamic Client Registration (RFC 7591), so that a test can register the redirect URI of the HealthRec it started.
//
// Test-only: in-memory state, a fixed cookie key, loopback.

import crypto from 'node:crypto';
import Provider, { errors, interactionPolicy } from 'oidc-provider';

const SMART_SCOPES = ['openid', 'fhirUser', 'profile', 'launch', 'launch/patient', 'offline_access', 'online_access',
  ...['Patient', 'Observation', 'Condition', 'MedicationStatement', 'MedicationRequest', 'Encounter', 'QuestionnaireResponse',
    'DiagnosticReport', 'AllergyIntolerance'].flatMap((type) => [`patient/${type}.rs`, `patient/${type}.read`])];

// Staff sign-in for HealthRec's own APIs (its /admin, /audit and /api routes): service clients with app roles, as Entra
// ID issues them — a client-credentials grant for the staff API's resource gives a signed JWT access token whose
// audience is the API and whose `roles` claim holds the client's app roles.
export const STAFF_API = 'api://healthrec-staff';
const STAFF_CLIENTS = { 'staff-admin': ['Admin'], 'staff-auditor': ['Auditor'], 'staff-clinician': ['Clinician'], 'staff-norole': [] };
// Staff who sign in with a browser (HealthRec's review page and dashboard): their app roles, in the `roles` claim.
const STAFF_USERS = { 'admin-1': ['Admin'], 'auditor-1': ['Auditor'], 'clinician-1': ['Clinician'] };

// Each EHR launch is its own consent with its own context, as in an EHR: oidc-provider would otherwise reuse the
// browser's earlier grant (and its patient) for a second launch of the same app in another tab.
// grantLaunch: grant id -> the launch it was given for.
function launchPolicy(grantLaunch) {
  const policy = interactionPolicy.base();
  policy.get('consent').checks.add(new interactionPolicy.Check('smart_launch', 'each EHR launch carries its own context',
    (ctx) => (ctx.oidc.params.launch && grantLaunch.get(ctx.oidc.grant?.jti) !== String(ctx.oidc.params.launch)
      ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT)));
  return policy;
}

export function createAuthorizationServer({ origin, fhirBase }) {
  const issuer = `${origin}/oauth`;
  // launch id -> context the EHR attached to it; grant id -> the context of that grant, for the token response.
  const launches = new Map();
  const grantContext = new Map();
  const grantLaunch = new Map();
  const initialPolicy = { deny: false, standalonePatient: undefined, v1Only: false, accessTokenTtl: 3600, account: undefined, rawBasic: false, refuseBasic: false,
    refuseRefresh: false, denyWith: undefined };
  let policy = { ...initialPolicy };
  let nextLaunch = 1;
  // The secret the next dynamic registration gets, when a test chose one (e.g. with reserved characters).
  let nextSecret;
  // Access tokens issued, and those the EHR no longer accepts (its signing keys "rotated"): the FHIR server refuses these.
  let issued = new Set();
  let revoked = new Set();

  const provider = new Provider(issuer, {
    clients: Object.keys(STAFF_CLIENTS).map((id) => ({
      client_id: id, client_secret: `${id}-secret`, grant_types: ['client_credentials'], redirect_uris: [], response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    cookies: { keys: ['healthrec-test-only-cookie-key'] },
    features: {
      registration: {
        enabled: true,
        secretFactory: async () => {
          const secret = nextSecret ?? crypto.randomBytes(48).toString('base64url');
          nextSecret = undefined;
          return secret;
        },
      },
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Staff clients get the staff API by default; SMART clients name no resource and keep opaque tokens.
        defaultResource: async (ctx, client, oneOf) => oneOf ?? (client.clientId in STAFF_CLIENTS ? STAFF_API : undefined),
        getResourceServerInfo: async (ctx, resourceIndicator) => {
          if (resourceIndicator !== STAFF_API) throw new errors.InvalidTarget();
          return { scope: 'healthrec.staff', audience: STAFF_API, accessTokenFormat: 'jwt', accessTokenTTL: 3600, jwt: { sign: { alg: 'RS256' } } };
        },
        useGrantedResource: async () => true,
      },
    },
    extraTokenClaims: async (ctx, token) => {
      const roles = STAFF_CLIENTS[token.clientId];
      return roles?.length ? { roles } : undefined;
    },
    pkce: { required: () => true },
    // SMART: fhirUser (and the other scope claims) in the id_token of the code flow, not only at the userinfo endpoint.
    conformIdTokenClaims: false,
    // SMART asks servers to accept RS384 and ES384 client assertions (private_key_jwt).
    enabledJWA: { clientAuthSigningAlgValues: ['RS384', 'ES384', 'RS256', 'ES256', 'PS384'] },
    scopes: [...SMART_SCOPES, 'roles'],
    claims: { openid: ['sub'], fhirUser: ['fhirUser'], profile: ['name'], roles: ['roles'] },
    extraParams: ['launch', 'aud'],
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, fhirUser: `${fhirBase}/Practitioner/${id}`, name: 'Dr Test Practitioner', roles: STAFF_USERS[id] ?? [] }),
    }),
    interactions: { policy: launchPolicy(grantLaunch), url: (ctx, interaction) => `/oauth/interaction/${interaction.uid}` },
    // An EHR launch's code and tokens belong to that launch, not to the browser's sign-in: with oidc-provider's default a
    // second launch's grant would void the first launch's unredeemed code (two frames of one chart launching at once).
    expiresWithSession: async () => false,
    issueRefreshToken: async (ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && (code.scopes.has('offline_access') || code.scopes.has('online_access')),
    ttl: { AccessToken: () => policy.accessTokenTtl, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 86400, Interaction: 600, Session: 3600, Grant: 86400 },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><title>Authorization error</title><h1>${out.error}</h1><p>${out.error_description ?? ''}</p>`;
    },
  });

  // A test policy at the token endpoint, before oidc-provider: a server that compares the Basic secret unencoded (as
  // smart-launcher-v2 does: a secret with reserved characters then fails as RFC 6749 sends it, and passes as typed).
  provider.use(async (ctx, next) => {
    if (ctx.path === '/token' && ctx.method === 'POST') {
      const header = ctx.headers.authorization ?? '';
      // A server that takes secrets only in the body (though it lists Basic too, as some do).
      if (policy.refuseBasic && header.toLowerCase().startsWith('basic ')) {
        ctx.status = 401;
        ctx.body = { error: 'invalid_client', error_description: 'HTTP Basic is not accepted here' };
        return;
      }
      if (policy.rawBasic && header.toLowerCase().startsWith('basic ')) {
        const raw = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
        const i = raw.indexOf(':');
        const client = i > 0 ? await provider.Client.find(raw.slice(0, i)) : undefined;
        if (!client || client.clientSecret !== raw.slice(i + 1)) {
          ctx.status = 401;
          ctx.body = { error: 'invalid_client', error_description: 'client authentication failed' };
          return;
        }
        // Accepted as sent: handed on to oidc-provider in the encoding it expects.
        const encode = (text) => encodeURIComponent(text).replace(/%20/g, '+');
        ctx.headers.authorization = `Basic ${Buffer.from(`${encode(raw.slice(0, i))}:${encode(raw.slice(i + 1))}`).toString('base64')}`;
      }
    }
    await next();
  });

  // Why a grant was refused, in the server's log (oidc-provider keeps the detail out of the response).
  provider.on('grant.error', (ctx, err) => console.error(`grant.error: ${err.error_detail ?? err.message}`));
  provider.on('authorization.error', (ctx, err) => console.error(`authorization.error: ${err.message} ${err.error_description ?? ""} ${err.error_detail ?? ""}`));

  // SMART: the launch context travels in the token response beside the access token, on refreshes too.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && policy.refuseRefresh && ctx.oidc?.params?.grant_type === 'refresh_token') {
      ctx.status = 400;
      ctx.body = { error: 'invalid_grant', error_description: 'the refresh token is no longer valid' };
      return;
    }
    if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.access_token) {
      issued.add(ctx.body.access_token);
      const token = await provider.AccessToken.find(ctx.body.access_token);
      const context = token ? grantContext.get(token.grantId) : undefined;
      if (context) Object.assign(ctx.body, context);
    }
  });

  async function interaction(req, res) {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params, session } = details;
    if (policy.deny) {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The user did not allow HealthRec to read this record' },
        { mergeWithLastSubmission: false });
    }
    if (policy.denyWith) {
      return provider.interactionFinished(req, res, { error: policy.denyWith, error_description: `Refused for the test: ${policy.denyWith} <b>as sent</b>` },
        { mergeWithLastSubmission: false });
    }
    if (prompt.name === 'login') {
      return provider.interactionFinished(req, res, { login: { accountId: policy.account ?? 'practitioner-1' } }, { mergeWithLastSubmission: false });
    }
    const scopes = String(params.scope ?? '').split(' ');
    let context;
    if (params.launch) {
      context = launches.get(String(params.launch));
      if (!context) {
        return provider.interactionFinished(req, res, { error: 'invalid_request', error_description: 'Unknown launch' }, { mergeWithLastSubmission: false });
      }
    } else if (scopes.includes('launch/patient')) {
      // The standalone patient picker, automated: the patient a test chose.
      context = { patient: policy.standalonePatient, need_patient_banner: true };
    }
    // A launch gets a grant of its own (its context is the launch's); otherwise the browser's earlier grant is extended.
    const grant = details.grantId && !params.launch ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (params.launch) grant.addOIDCScope(String(params.scope ?? ''));
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    const grantId = await grant.save();
    if (context) grantContext.set(grantId, context);
    if (params.launch) grantLaunch.set(grantId, String(params.launch));
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  return {
    issuer,
    // [base]/.well-known/smart-configuration (SMART App Launch 2.2, Conformance).
    smartConfiguration: () => ({
      issuer,
      jwks_uri: `${issuer}/jwks`,
      authorization_endpoint: `${issuer}/auth`,
      token_endpoint: `${issuer}/token`,
      registration_endpoint: `${issuer}/reg`,
      revocation_endpoint: `${issuer}/token/revocation`,
      grant_types_supported: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
      scopes_supported: SMART_SCOPES,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      capabilities: ['launch-ehr', 'launch-standalone', 'client-public', 'client-confidential-symmetric', 'client-confidential-asymmetric',
        'context-ehr-patient', 'context-standalone-patient', 'context-banner', 'permission-patient', 'permission-v1', 'sso-openid-connect',
        'permission-offline', 'permission-online', ...(policy.v1Only ? [] : ['permission-v2'])],
    }),
    // Requests under /oauth: the interaction pages here, everything else to oidc-provider (which routes without the prefix).
    async handle(req, res) {
      const path = req.url.slice('/oauth'.length) || '/';
      if (path.startsWith('/interaction/')) {
        try {
          return await interaction(req, res);
        } catch (err) {
          res.writeHead(err instanceof errors.SessionNotFound ? 400 : 500, { 'content-type': 'text/plain' });
          return res.end(String(err?.message ?? err));
        }
      }
      // As Express mounts it: the provider derives its mount path from originalUrl against url.
      req.originalUrl = req.url;
      req.url = path;
      return provider.callback()(req, res);
    },
    // Test control: a launch the EHR prepares (its context; padded to a length when a test asks), and how the automated
    // user answers.
    newLaunch(context, pad = 0) {
      const base = `launch-${nextLaunch++}`;
      const id = pad > base.length ? `${base}-${'x'.repeat(pad - base.length - 1)}` : base;
      launches.set(id, context);
      return id;
    },
    setPolicy(next) {
      policy = { ...policy, ...next };
      return policy;
    },
    setNextSecret(secret) {
      nextSecret = secret;
    },
    // The EHR rotates its signing keys: every access token issued so far is refused by its FHIR server from now on.
    rotateKeys() {
      for (const token of issued) revoked.add(token);
      issued = new Set();
      return revoked.size;
    },
    isRevoked(token) {
      return revoked.has(token);
    },
    // Whether a token is one this server issued and still valid (for a test to check what a client sent).
    async tokenInfo(token) {
      const found = await provider.AccessToken.find(token);
      return found ? { active: true, scope: found.scope, grantId: found.grantId } : { active: false };
    },
    reset() {
      launches.clear();
      grantContext.clear();
      grantLaunch.clear();
      policy = { ...initialPolicy };
      nextSecret = undefined;
      issued = new Set();
      revoked = new Set();
    },
  };
}
