// Package cassim is a CAS server (the university's unified identity
// authentication, 统一身份认证) for tests and the demo, speaking the Apereo
// CAS Protocol 3.0 as a real server does. It is a plain net/http
// http.Handler: use httptest.NewServer(sim) in tests, or mount it under a
// path prefix with http.StripPrefix beside the real server and the WeCom
// simulator (set Options.BaseURL to the external URL, prefix included),
// and point a cas.Client's BaseURL at it.
//
// It owns:
//
//   - /login (spec §2.1, §2.2): a person picker standing in for the
//     password form (sim_user=ID picks directly, for tests); a
//     ticket-granting cookie (CookieName) for the single sign-on session;
//     service, renew and gateway as the spec requires; services checked
//     against Options.Services, an unknown one getting an error page;
//   - /logout (§2.3): ends the session, redirects to a known service;
//   - /serviceValidate (CAS 2.0, user only) and /p3/serviceValidate (CAS
//     3.0, with the person's attributes and the protocol's own), answering
//     the spec's XML (§2.5.2, §2.5.7, Appendix A) and its failure codes;
//     service tickets that are single-use, bound to their service, and
//     expire after TicketTTL on Options.Clock (validate.go lists every
//     check in order);
//   - fault injection (FailNextValidation) for what a healthy server never
//     answers, such as INTERNAL_ERROR.
//
// It does not implement proxy tickets (a pgtUrl is refused), /validate
// (CAS 1.0), /samlValidate, the JSON format, login tickets or single
// logout callbacks.
//
// cassim imports only the standard library. It must not import package
// cas: its wire format (validate.go) is written independently of the
// client's parser, so that a misreading of the spec on either side shows
// up as a failing test rather than agreeing with itself. Nor may it import
// store, handler or any domain package: they test against it.
package cassim
