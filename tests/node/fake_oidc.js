// SPDX-License-Identifier: GPL-2.0-only
// A fake OpenID Connect provider for the tests: discovery, /authorize
// (auto-approves the user the test chose), /token (checks the client, the
// redirect URI and the PKCE verifier) and /jwks. It signs real RS256 ID
// tokens with keys made by crypto.generateKeyPairSync; `mode` makes it
// misbehave the ways a hostile or broken issuer could.
'use strict';
const crypto = require('crypto');
const http = require('http');

const b64u = (b) => Buffer.from(b).toString('base64url');

class FakeOidc {
  constructor(opts = {}) {
    this.clientId = opts.clientId || 'sphinx-test';
    this.clientSecret = opts.clientSecret || 'test-secret';
    this.keys = [this.newKey('k1')];
    this.rogue = this.newKey('k1'); // same kid, different key: forged signature
    this.codes = new Map();
    this.user = { sub: 'user-1', email: 'ada@example.org', email_verified: true, name: 'Ada Lovelace' };
    this.mode = 'ok';
    this.requests = [];
  }
  newKey(kid) {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { kid, publicKey, privateKey };
  }
  rotate() { this.keys = [this.newKey('k2')]; }
  start() {
    this.server = http.createServer((req, res) => this.handle(req, res));
    return new Promise((r) => this.server.listen(0, '127.0.0.1', () => {
      this.issuer = `http://127.0.0.1:${this.server.address().port}`;
      r(this);
    }));
  }
  stop() { this.server.close(); }
  json(res, status, obj) { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(obj)); }
  sign(claims, key, alg = 'RS256') {
    const header = { alg, typ: 'JWT', kid: key.kid };
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
    let sig;
    if (alg === 'none') sig = '';
    else if (alg === 'HS256') sig = b64u(crypto.createHmac('sha256', key.publicKey.export({ type: 'spki', format: 'pem' })).update(input).digest());
    else sig = b64u(crypto.sign('sha256', Buffer.from(input), key.privateKey));
    return `${input}.${sig}`;
  }
  idToken(nonce) {
    const now = Math.floor(Date.now() / 1000);
    const c = Object.assign({ iss: this.issuer, aud: this.clientId, iat: now, exp: now + 300, nonce }, this.user);
    let key = this.keys[0], alg = 'RS256';
    switch (this.mode) {
      case 'bad_sig': key = this.rogue; break;
      case 'wrong_aud': c.aud = 'someone-else'; break;
      case 'multi_aud_no_azp': c.aud = [this.clientId, 'other']; break;
      case 'expired': c.exp = now - 3600; c.iat = now - 7200; break;
      case 'bad_nonce': c.nonce = 'not-the-nonce'; break;
      case 'wrong_iss': c.iss = 'https://evil.example'; break;
      case 'alg_none': alg = 'none'; break;
      case 'hs256': alg = 'HS256'; break;
      case 'unknown_kid': key = Object.assign({}, this.rogue, { kid: 'zzz' }); break;
      default: break;
    }
    return this.sign(c, key, alg);
  }
  async body(req) { let b = ''; for await (const d of req) b += d; return b; }
  async handle(req, res) {
    const u = new URL(req.url, this.issuer);
    this.requests.push(u.pathname);
    if (u.pathname === '/.well-known/openid-configuration') {
      return this.json(res, 200, { issuer: this.issuer, authorization_endpoint: `${this.issuer}/authorize`,
        token_endpoint: `${this.issuer}/token`, jwks_uri: `${this.issuer}/jwks`,
        response_types_supported: ['code'], id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'] });
    }
    if (u.pathname === '/jwks') {
      return this.json(res, 200, { keys: this.keys.map((k) => Object.assign(k.publicKey.export({ format: 'jwk' }), { kid: k.kid, alg: 'RS256', use: 'sig' })) });
    }
    if (u.pathname === '/authorize') {
      const q = u.searchParams;
      this.lastAuthorize = Object.fromEntries(q.entries());
      if (q.get('client_id') !== this.clientId || q.get('response_type') !== 'code')
        return this.json(res, 400, { error: 'invalid_request' });
      if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge') || !q.get('state') || !q.get('nonce'))
        return this.json(res, 400, { error: 'invalid_request', error_description: 'PKCE S256, state and nonce required' });
      const code = b64u(crypto.randomBytes(16));
      this.codes.set(code, { challenge: q.get('code_challenge'), nonce: q.get('nonce'), redirect: q.get('redirect_uri') });
      const to = new URL(q.get('redirect_uri'));
      to.searchParams.set('code', code);
      to.searchParams.set('state', q.get('state'));
      res.writeHead(302, { location: to.toString() });
      return res.end();
    }
    if (u.pathname === '/token' && req.method === 'POST') {
      const f = new URLSearchParams(await this.body(req));
      const c = this.codes.get(f.get('code'));
      this.codes.delete(f.get('code'));
      if (!c) return this.json(res, 400, { error: 'invalid_grant' });
      if (f.get('client_id') !== this.clientId || f.get('client_secret') !== this.clientSecret)
        return this.json(res, 401, { error: 'invalid_client' });
      if (f.get('redirect_uri') !== c.redirect) return this.json(res, 400, { error: 'invalid_grant', error_description: 'redirect_uri' });
      const want = b64u(crypto.createHash('sha256').update(f.get('code_verifier') || '').digest());
      if (want !== c.challenge) return this.json(res, 400, { error: 'invalid_grant', error_description: 'PKCE verifier' });
      return this.json(res, 200, { access_token: 'at', token_type: 'Bearer', expires_in: 300, id_token: this.idToken(c.nonce) });
    }
    this.json(res, 404, { error: 'not_found' });
  }
}

module.exports = { FakeOidc };
