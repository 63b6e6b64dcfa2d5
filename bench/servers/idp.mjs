// The embedded demo IdP (dist/demo/idp.js, oidc-provider) in a process of its own, so that it
// runs on the server CPU and its work is not counted as the load generator's.
//   argument: {"users": [IdpUser], "clients": [IdpClient]}
import { startIdp } from '../../dist/demo/idp.js';
import { announceReady, childArgument } from '../lib/protocol.mjs';

const { users, clients } = childArgument();
const idp = await startIdp(users);
await idp.configure(clients);
announceReady({ issuer: idp.issuer });
