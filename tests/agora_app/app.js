// The stand-in for Agora's own application: Node.js, Express and the pure-JS
// pg driver, answering the Agora API from PostgreSQL the way an Express
// application does (the envelope, page/limit, camelCase names, _id).  The
// contract suite puts the gateway beside it and compares the two answer for
// answer.
//
// Its models are the resources of the configuration it is given (the one
// the gateway serves), read once at start; everything else here is its own:
// the SQL, the rendering of every type, pagination, filters, search,
// ordering, tokens and writes.
//
//   node app.js CONFIG PORT        (DATABASE_URL, JWT_SECRET from the environment)
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const express = require('express');
const { Pool, types } = require('pg');

types.setTypeParser(1082, (v) => v);                 // date: as written
types.setTypeParser(1184, (v) => v);                 // timestamptz: text, rendered below
types.setTypeParser(20, (v) => Number(v));           // bigint: a number (ids fit)

const [configPath, port] = process.argv.slice(2);
const secret = process.env.JWT_SECRET;
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 4, options: '-c TimeZone=UTC' });

// The configuration is JSON with // comments.
function uncomment(text) {
  let out = '', inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      out += c;
      if (c === '\\') out += text[++i];
      else if (c === '"') inStr = false;
    } else if (c === '"') {
      inStr = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}

const config = JSON.parse(uncomment(fs.readFileSync(configPath, 'utf8')));
const camel = (s) => s.replace(/^(_*)(.*?)(_*)$/, (m, a, b, c) => a + b.replace(/_+([^_])/g, (x, y) => y.toUpperCase()) + c);

function model(res, parent) {
  const m = { ...res, parent, fields: res.fields.map((f) => ({ ...f, column: f.column || f.name })) };
  for (const f of m.fields) f.api = f.primary_key ? '_id' : camel(f.name);
  m.pk = m.fields.find((f) => f.primary_key);
  m.byApi = new Map(m.fields.map((f) => [f.api, f]));
  m.children = (res.children || []).map((c) => model(c, m));
  return m;
}
const resources = config.resources.map((r) => model(r));

// Answers --------------------------------------------------------------------

const ok = (res, status, data) => res.status(status).json({ success: true, data });
const fail = (res, status, message) => res.status(status).json({ success: false, message });
const invalid = (res, errors) => res.status(400).json({ success: false, message: 'Validation failed', errors });

// 2025-01-01 10:00:00.123+00 → 2025-01-01T10:00:00.123000Z (no fraction when it is zero).
function isoTime(t) {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d+))?\+00$/.exec(t);
  if (!m) throw new Error('unexpected timestamp ' + t);
  const frac = (m[3] || '').padEnd(6, '0');
  return m[1] + 'T' + m[2] + (/^0*$/.test(frac) ? '' : '.' + frac) + 'Z';
}

function value(f, v) {
  if (v === null || v === undefined) return null;
  return f.type === 'datetime' ? isoTime(v) : v;
}

function render(m, row, kids) {
  const out = {};
  const placed = new Set();
  for (const f of m.fields) {
    out[f.api] = value(f, row[f.column]);
    m.children.forEach((c, i) => {
      if (c.after === f.name) {
        out[c.name] = kids[i];
        placed.add(i);
      }
    });
  }
  m.children.forEach((c, i) => { if (!placed.has(i)) out[c.name] = kids[i]; });
  return out;
}

const q = (name) => '"' + name + '"';

function orderBy(m, terms) {
  const parts = terms.map(({ f, desc }) =>
    q(f.column) + (f.type === 'string' || f.type === 'text' ? ' COLLATE "C"' : '') + (desc ? ' DESC' : ' ASC'));
  return ' ORDER BY ' + parts.concat([q(m.pk.column) + ' ASC']).join(', ');
}

// Rows of m with their children, rendered.
async function withChildren(m, rows) {
  const ids = rows.map((r) => r[m.pk.column]);
  const kids = await Promise.all(m.children.map(async (c) => {
    const terms = (c.ordering || []).map((o) => ({ f: c.fields.find((f) => f.name === o.replace(/^-/, '')), desc: o[0] === '-' }));
    const sql = 'SELECT * FROM ' + q(c.table) + ' WHERE ' + q(c.fk_column) + ' = ANY($1::uuid[])' +
      orderBy(c, [{ f: { column: c.fk_column, type: 'uuid' }, desc: false }, ...terms]);
    const got = ids.length ? (await pool.query(sql, [ids])).rows : [];
    const by = new Map(ids.map((id) => [id, []]));
    for (const k of got) by.get(k[c.fk_column]).push(render(c, k, []));
    return by;
  }));
  return rows.map((r) => render(m, r, kids.map((by) => by.get(r[m.pk.column]))));
}

// Tokens: simplejwt's access tokens, HS256.
function principal(req) {
  const h = req.get('authorization');
  if (!h) return { error: 'Authentication credentials were not provided.' };
  const parts = h.split(' ');
  if (parts.length !== 2) return { error: 'Authorization header must contain two space-delimited values' };
  const bad = { error: 'Given token not valid for any token type' };
  const seg = parts[1].split('.');
  if (parts[0] !== 'Bearer' || seg.length !== 3) return bad;
  const mac = crypto.createHmac('sha256', secret).update(seg[0] + '.' + seg[1]).digest('base64url');
  if (mac.length !== seg[2].length || !crypto.timingSafeEqual(Buffer.from(mac), Buffer.from(seg[2]))) return bad;
  let head, claims;
  try {
    head = JSON.parse(Buffer.from(seg[0], 'base64url'));
    claims = JSON.parse(Buffer.from(seg[1], 'base64url'));
  } catch (e) {
    return bad;
  }
  if (head.alg !== 'HS256' || claims.token_type !== 'access' || !(claims.exp > Date.now() / 1000) ||
      !Number.isInteger(claims.user_id)) return bad;
  return { user: claims.user_id };
}

// DRF's _positive_int with its fallback.
function positive(text, lo, hi, def) {
  if (text === undefined || !/^\s*[+-]?\d+$/.test(text)) return def;
  const x = Number(text);
  return x < lo ? def : Math.min(x, hi);
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function filterValue(f, text) {
  if (f.type === 'boolean') return { true: true, True: true, 1: true, false: false, False: false, 0: false }[text];
  if (f.type === 'uuid') return UUID.test(text) ? text : undefined;
  if (f.type === 'integer') return /^-?\d+$/.test(text) ? Number(text) : undefined;
  return text;
}

async function list(m, req, res, user) {
  const args = [user];
  let where = ' WHERE ' + q(m.owner_column) + ' = $1';
  const errors = {};
  for (const name of m.filters || []) {
    const f = m.fields.find((x) => x.name === name);
    const text = req.query[f.api];
    if (text === undefined || text === '') continue;
    const v = filterValue(f, text);
    if (v === undefined) {
      errors[f.api] = [f.type === 'uuid' ? 'Enter a valid UUID.' : 'Enter a valid value.'];
      continue;
    }
    args.push(v);
    where += ' AND ' + q(f.column) + ' = $' + args.length;
  }
  if (Object.keys(errors).length) return invalid(res, errors);
  const search = req.query.search;
  if (search && (m.search || []).length) {
    for (const term of search.split(/[\s,]+/).filter((t) => t)) {
      args.push('%' + term.replace(/[\\%_]/g, (c) => '\\' + c) + '%');
      where += ' AND (' + m.search.map((n) => q(m.fields.find((x) => x.name === n).column) + ' ILIKE $' + args.length +
        " ESCAPE '\\'").join(' OR ') + ')';
    }
  }
  let terms = [];
  if (req.query.sort) {
    for (const t of req.query.sort.split(',').map((x) => x.trim())) {
      const desc = t[0] === '-';
      const f = m.byApi.get(desc ? t.slice(1) : t);
      if (f && (m.ordering_fields || []).includes(f.name)) terms.push({ f, desc });
    }
  }
  if (!terms.length) terms = (m.ordering || []).map((o) => ({ f: m.fields.find((f) => f.name === o.replace(/^-/, '')), desc: o[0] === '-' }));
  const limit = positive(req.query.limit, 1, 100, m.page_size || 20);
  const page = positive(req.query.page, 1, Math.floor(Number.MAX_SAFE_INTEGER / 2 / limit), 1);
  const total = Number((await pool.query('SELECT COUNT(*) AS n FROM ' + q(m.table) + where, args)).rows[0].n);
  const rows = (await pool.query('SELECT * FROM ' + q(m.table) + where + orderBy(m, terms) +
    ' LIMIT ' + limit + ' OFFSET ' + (page - 1) * limit, args)).rows;
  res.json({ success: true, data: await withChildren(m, rows),
             pagination: { page, limit, total, pages: Math.max(1, Math.ceil(total / limit)) } });
}

async function one(m, id, user) {
  if (!UUID.test(id)) return null;
  const rows = (await pool.query('SELECT * FROM ' + q(m.table) + ' WHERE ' + q(m.pk.column) + ' = $1 AND ' +
    q(m.owner_column) + ' = $2', [id, user])).rows;
  return rows.length ? (await withChildren(m, rows))[0] : null;
}

// Writes: the fields a client may give, required ones checked, defaults and
// times filled; children replaced when given.
const nowMs = () => new Date(Math.floor(Date.now())).toISOString().replace('T', ' ').replace('Z', '+00');

function columnsOf(m, body, creating, errors) {
  const cols = {};
  for (const f of m.fields) {
    if (f.primary_key) continue;
    if (f.auto === 'now' || (f.auto === 'now_on_create' && creating)) {
      cols[f.column] = nowMs();
      continue;
    }
    if (f.auto || f.read_only) continue;
    if (f.api in body) {
      const v = body[f.api];
      cols[f.column] = f.type === 'json' && v !== null ? JSON.stringify(v) : v;
    } else if (creating && f.required) {
      errors[f.api] = ['This field is required.'];
    } else if (creating && 'default' in f) {
      cols[f.column] = f.type === 'json' && f.default !== null ? JSON.stringify(f.default) : f.default;
    }
  }
  return cols;
}

async function insert(client, table, cols) {
  const names = Object.keys(cols);
  await client.query('INSERT INTO ' + q(table) + ' (' + names.map(q).join(', ') + ') VALUES (' +
    names.map((n, i) => '$' + (i + 1)).join(', ') + ')', names.map((n) => cols[n]));
}

async function write(m, req, res, user, id) {
  const creating = !id, body = req.body || {}, errors = {};
  const cols = columnsOf(m, body, creating, errors);
  const kids = m.children.filter((c) => c.name in body);
  if (Object.keys(errors).length) return invalid(res, errors);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    if (creating) {
      id = crypto.randomUUID();
      await insert(client, m.table, { [m.pk.column]: id, [m.owner_column]: user, ...cols });
    } else {
      const names = Object.keys(cols);
      const r = await client.query('UPDATE ' + q(m.table) + ' SET ' + (names.length ? names.map((n, i) => q(n) + ' = $' + (i + 3)).join(', ')
        : q(m.pk.column) + ' = $1') + ' WHERE ' + q(m.pk.column) + ' = $1 AND ' + q(m.owner_column) + ' = $2',
        [id, user, ...names.map((n) => cols[n])]);
      if (!r.rowCount) {
        await client.query('ROLLBACK');
        return fail(res, 404, 'Not found.');
      }
    }
    for (const c of kids) {
      await client.query('DELETE FROM ' + q(c.table) + ' WHERE ' + q(c.fk_column) + ' = $1', [id]);
      for (const k of body[c.name]) {
        const e = {};
        await insert(client, c.table, { [c.pk.column]: crypto.randomUUID(), [c.fk_column]: id, ...columnsOf(c, k, true, e) });
      }
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  } finally {
    client.release();
  }
  ok(res, creating ? 201 : 200, await one(m, id, user));
}

// Routes -----------------------------------------------------------------------

const app = express();
app.set('etag', false);
app.set('x-powered-by', false);
app.use(express.json());

const handle = (fn) => (req, res) => {
  const who = principal(req);
  if (who.error) {
    res.set('WWW-Authenticate', 'Bearer realm="api"');
    return fail(res, 401, who.error);
  }
  fn(req, res, who.user).catch((e) => {
    console.error(e);
    fail(res, 500, 'A server error occurred.');
  });
};

for (const m of resources) {
  const ops = m.operations || ['list', 'create', 'retrieve', 'update', 'partial_update', 'destroy'];
  const notAllowed = (req, res) => fail(res, 405, 'Method "' + req.method + '" not allowed.');
  app.get(m.path, handle((req, res, user) => list(m, req, res, user)));
  app.post(m.path, handle((req, res, user) => (ops.includes('create') ? write(m, req, res, user) : notAllowed(req, res))));
  app.get(m.path + ':id/', handle(async (req, res, user) => {
    const got = await one(m, req.params.id, user);
    return got ? ok(res, 200, got) : fail(res, 404, 'Not found.');
  }));
  app.patch(m.path + ':id/', handle((req, res, user) => (UUID.test(req.params.id) ? write(m, req, res, user, req.params.id)
    : fail(res, 404, 'Not found.'))));
  app.delete(m.path + ':id/', handle(async (req, res, user) => {
    if (!UUID.test(req.params.id)) return fail(res, 404, 'Not found.');
    const r = await pool.query('DELETE FROM ' + q(m.table) + ' WHERE ' + q(m.pk.column) + ' = $1 AND ' +
      q(m.owner_column) + ' = $2', [req.params.id, user]);
    return r.rowCount ? res.json({ success: true, message: 'Deleted' }) : fail(res, 404, 'Not found.');
  }));
}

const server = app.listen(Number(port), '127.0.0.1', () => console.log('agora app listening on ' + server.address().port));
process.on('SIGTERM', () => server.close(() => pool.end()));
