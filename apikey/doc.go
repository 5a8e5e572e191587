// Package apikey is the identity of the business systems that send
// messages through the ingest API (POST /api/v1/messages): their keys,
// what a key may reach, how fast, and the check every request passes.
//
// A key has an id (sent in X-Wecomapp-Key, not secret), a secret (shown
// once, when the key is created, and stored sealed: store.APIKeySecret),
// the system it belongs to (the message's producer is "api:<system>", so
// keys of one system share its idempotency keys, which lets a system
// rotate keys without sending a retried message twice), a recipient scope
// and a rate limit. A key is revoked, never deleted, so the audit log and
// the messages it sent still name it. Creating and revoking are audited
// (audit_log) in the same transaction as the change.
//
// Verify checks a request the way the contract says, cheapest refusal
// first and nothing remembered for a request that is not authentic:
//
//  1. the key exists and is not revoked (ErrUnauthorized);
//  2. X-Wecomapp-Timestamp is within MaxSkew (5 minutes) of the clock
//     (ErrUnauthorized);
//  3. X-Wecomapp-Signature is HMAC-SHA256 with the key's secret over
//     timestamp + "\n" + nonce + "\n" + body, compared in constant time
//     (ErrUnauthorized);
//  4. the nonce was not used with this key in the last NonceTTL
//     (ErrReplay). Nonces are remembered in the coordination layer
//     (coord.SetNX), so a request replayed to another instance is refused
//     too. NonceTTL (10 minutes) is twice MaxSkew: a request is refused
//     for its timestamp before its nonce can be forgotten;
//  5. the key's rate limit, a token bucket in the coordination layer
//     shared by every instance (ErrRateLimited, with the wait). It comes
//     after the nonce, so replaying captured requests cannot use up a
//     key's allowance.
//
// Permits then checks the recipients against the key's scope
// (ErrOutOfScope): a key scoped to a department reaches it and every
// department below it (as the contacts mirror records the tree); tags,
// roles and userids only as listed; mobiles (SMS) and the whole
// university only when the scope says so (Scope).
//
// Errors of a refused request are *Error, whose Msg is safe to show the
// caller; neither the secret nor the signature is ever in an error or a
// log line.
package apikey
