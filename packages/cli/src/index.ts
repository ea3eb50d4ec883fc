/**
 * @tokenward/cli: `tokenward inspect` explains why a bearer token passes or fails (with its DPoP
 * proof, client certificate and the route's step-up requirements);
 * `tokenward decode` shows a JWT's header and claims without checking anything.
 *
 * @packageDocumentation
 */
export { USAGE, main, version } from './main.js'
export type { CommandIo } from './io.js'
export { decodeToken, type DecodedToken, type JsonObject } from './decode.js'
export { hintFor, type HintContext } from './hints.js'
export type { DecodedProof, RequestEvidence } from './request.js'
