// Package cas is a client for CAS single sign-on (Central Authentication
// Service), the university's unified identity authentication (统一身份认证):
// it builds the /login and /logout URLs a browser is sent to, and validates
// the service ticket the browser brings back, through /serviceValidate (CAS
// 2.0) or /p3/serviceValidate (CAS 3.0, with the person's attributes).
//
// It owns:
//
//   - Client (New, Options): the URLs (LoginURL, LoginURLWith for renew
//     and gateway, LogoutURL) and ticket validation over HTTP (Validate,
//     ValidateWith for renew), with a per-call timeout and a bounded
//     response (MaxResponseBytes); StripTicket gives back the service URL
//     a callback was reached at;
//   - the wire format: the CAS serviceResponse XML (namespace
//     http://www.yale.edu/tp/cas), parsed with encoding/xml into its own
//     unexported types and returned as a Principal (user and multi-valued
//     attributes, kept as they come: 姓名, 工号/学号, 部门, 身份类型…);
//   - the error kinds: *Error for a CAS authenticationFailure (and for a
//     ticket refused before any call), ErrBadResponse for an answer that is
//     not a CAS validation document.
//
// It follows the Apereo CAS Protocol 3.0 specification (§2.1 /login, §2.3
// /logout, §2.5 /serviceValidate, §2.8 /p3/serviceValidate, §3.1 service
// tickets, Appendix A the response schema). Proxy tickets, proxy-granting
// tickets, /validate (CAS 1.0), /samlValidate and the JSON format are not
// implemented: the platform only signs people in.
//
// Service tickets are credentials: the client never logs, and its errors
// never contain, a ticket (a server message echoing it is redacted).
//
// cas imports only the standard library. It must not import any package of
// the project (package cassim, the simulator it is tested against, keeps
// its own wire types so that each checks the other), nor gin, zap or a
// database: the caller decides what to log and where a session lives.
package cas
