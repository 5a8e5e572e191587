// Package auth owns who is signed in: browser sessions and the plain-value
// steps of the sign-in round trips.
//
// Sessions come from github.com/alexedwards/scs/v2 and live in the
// coordination layer (coord.Store): Redis when several instances run, in
// process on the embedded default. A session has an idle timeout and an
// absolute lifetime, its token rotates at sign-in (no session fixation), and
// its cookie is HttpOnly, SameSite=Lax, Path=/ and Secure behind TLS. Every
// person has an index of their sessions in coord, so SignOutEverywhere ends
// them on every instance, including a request that was in flight at the time.
// A forged, unknown or expired cookie is simply "no session", never an error.
//
// For the WeCom OAuth2 round trip it owns the state (random, bound to the
// browser's session, single use, ten minutes), the sanitized return-to path
// (SafeReturnTo: same-site relative paths only) and the once-only use of an
// OAuth code (UseCodeOnce). It makes no HTTP calls to WeCom: exchanging the
// code for a userid is the wecom package's job.
//
// SetIdentity records which of their identities the signed-in person acts
// as, for the rest of the session.
//
// External systems linked from a workbench sign people on with one-time
// CAS service tickets (IssueTicket, ValidateTicket: 60 s, bound to the
// exact service URL, kept in coord under a digest); ServiceResponse writes
// the CAS 2.0/3.0 serviceResponse XML the platform's validation endpoint
// answers with, so any system that speaks CAS validates them.
//
// Admin grants (Admins, Grant, Allowed, Scope) say who may use the admin
// console and how far: super, dept_admin (scoped to departments), sender,
// auditor. They live in SQL through package store (admin_grants), and every
// grant and revoke writes its audit row in the same transaction; the last
// super admin cannot be revoked.
//
// auth speaks net/http and context only. It must not import gin (gin stays in
// handler/ and cmd/), config (it takes Options), or silenceper (wecom/'s).
// Besides the admin grants it stores nothing in SQL; everything it keeps in
// coord can be lost at the cost of people signing in again.
package auth
