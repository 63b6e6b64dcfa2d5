// Target d: what a Node team would build instead of the gateway. express +
// express-openid-connect (login, encrypted cookie session, every route requires it) +
// http-proxy-middleware with a keep-alive agent, forwarding the user's identity in headers.
//   argument: {"port", "baseURL", "issuer", "clientId", "clientSecret", "secret", "upstream"}
import { Agent } from 'node:http';
import express from 'express';
import { auth } from 'express-openid-connect';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { announceReady, childArgument } from '../lib/protocol.mjs';

const options = childArgument();
const app = express();
app.disable('x-powered-by');
app.use(
  auth({
    issuerBaseURL: options.issuer,
    baseURL: options.baseURL,
    clientID: options.clientId,
    clientSecret: options.clientSecret,
    clientAuthMethod: 'client_secret_basic',
    secret: options.secret,
    authRequired: true,
    idpLogout: false,
    authorizationParams: { response_type: 'code', scope: 'openid profile email groups' },
  }),
);
app.use(
  createProxyMiddleware({
    target: options.upstream,
    agent: new Agent({ keepAlive: true }),
    on: {
      proxyReq(proxyReq, req) {
        const user = req.oidc.user;
        proxyReq.setHeader('X-Forwarded-User', user.sub);
        if (typeof user.email === 'string') proxyReq.setHeader('X-Forwarded-Email', user.email);
        if (Array.isArray(user.groups))
          proxyReq.setHeader('X-Forwarded-Groups', user.groups.join(','));
      },
      error(_error, _req, res) {
        if (typeof res.writeHead === 'function' && !res.headersSent) res.writeHead(502);
        res.end();
      },
    },
  }),
);
app.listen(options.port, '127.0.0.1', () => announceReady({ port: options.port }));
