// Package wecom is the WeCom (企业微信) protocol, and the only package of the
// platform that talks to WeCom:
//
//   - callback crypto: URL verification, signature checks, AES-256-CBC with
//     32-byte PKCS#7 padding, encrypted passive replies (crypto.go);
//   - the callback event model, read and written with encoding/xml through
//     wire types that carry the element names (event*.go), and passive
//     reply builders (event_reply.go);
//   - the API client over github.com/silenceper/wechat/v2 `work`: a
//     configurable API base routed in one place (sdk.go), one access token
//     per secret shared through the coordination layer (token.go), typed
//     errcodes (errors.go), retries with backoff (retry.go), per-API rate
//     limits (ratelimit.go), Prometheus metrics (metrics.go), and the
//     endpoints silenceper lacks through the same plumbing (client*.go);
//   - OAuth and JS-SDK signatures (oauth.go, jssdk.go).
//
// wecom imports coord and nothing else of the project. It is the only
// importer of silenceper.
package wecom
