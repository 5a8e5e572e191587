// Package wecomsim is a high-fidelity WeCom (企业微信) server for tests and
// local runs. It is a plain net/http http.Handler: use
// httptest.NewServer(sim) in tests, or mount it under a path prefix with
// http.StripPrefix beside the real server (set Options.BaseURL to the
// external URL, prefix included), and point the wecom client's BaseURL at it.
//
// It owns:
//
//   - the server side of the WeCom APIs the project uses, answering with the
//     paths, fields, errcodes and errmsg shapes WeCom documents (summarised
//     in docs/wecom.md), under today's (post-2022) rules unless
//     Options.Legacy: gettoken and the token rules; contacts (departments,
//     members, tags); media upload; asynchronous batch imports; JS-SDK
//     tickets (jsapi.go, with VerifyJSSignature to check a page's
//     wx.config as the client would); workbench custom display
//     (workbench.go, WorkbenchTile for the phone page); checkin records and
//     reports over generated history (checkin.go, AddCheckin); application
//     messages and template cards — send, update_template_card, recall,
//     statistics (message.go, card.go); OAuth getuserinfo/getuserdetail
//     (oauth.go);
//   - the member side: an inbox per member with every delivered message
//     and each member's copy of a card (inbox.go, Inbox); members pressing
//     card buttons, opening apps and texting them, which send
//     template_card_event, enter_agent and text callbacks and apply the
//     passive replies (card.go PressCardButton, app_events.go); the OAuth
//     authorize page standing in for the client's "who are you?"; and the
//     phone page, a member's WeCom in a browser (phone.go, {BaseURL}/phone);
//   - the contacts state of one corp, seeded from a Fixture and restored by
//     Reset;
//   - outgoing encrypted callbacks: change_contact to the contacts-sync
//     receiver when contacts change outside the contacts-sync secret (admin
//     API, app tag edits), batch_job_result to the URL given with a batch
//     job — asynchronous, in order per receiver, with a timeout and retries;
//   - inspection and fault injection: call, change and delivery logs,
//     per-API frequency limits (45009), injected latency, HTTP statuses,
//     errcodes and dropped connections — as exported methods and as a JSON
//     admin API under AdminPrefix (see admin.go).
//
// Where the reference marks behaviour unconfirmed, the simulator picks one
// reading and says so in a comment next to the code.
//
// # Extending
//
//   - An API is one row of the route table in routes.go: path, method, who
//     may call it (accessAny, accessContacts, accessApp), the success errmsg,
//     the default fields its error responses carry, and the handler.
//   - The pipeline in call.go (serveAPI, dispatch) runs for every row: faults,
//     then token (41001/40014/42001), frequency limit (45009), method
//     (40063), caller (48002, 48009), then the handler, then the call log.
//   - Handlers are func(*call) (obj, error): they run with Sim.mu held, must
//     not block, read the body with call.fields() (presence-aware: absent
//     fields are not zero values), and fail with errf(code, detail…). The
//     caller is call.cred (credential.appOf() for app tokens; visibility via
//     state.visible).
//   - Pages that are not APIs (OAuth, JS-SDK, a member's phone view) register
//     in pageRoutes; links must be built on Sim.BaseURL.
//   - App callbacks go through sendAppCallback (encrypted with the app's
//     token and key, AgentID in the envelope, passive reply handed to
//     onReply); payloads are built with the simulator's own encoding/xml types
//     (wirexml.go, and card.go for card events), and requests are decoded
//     into its own types with a documented-key allow-list, never the
//     client's structs: a typo on either side then fails a test.
//   - Limits other than per corp and API (per app, per member, per corp
//     across APIs) count in st.limits under "<area>:…" keys with
//     countWindow / countWindows (jsapi.go).
//   - Per-member message shaping (30/min, 1,000/h per app and member) is
//     memberMessageAllowed, over state.memMsg.
//   - New state goes in state (restored by Reset); contacts changes go
//     through recordChange, which logs them and sends change_contact.
//
// wecomsim imports the standard library, zap and package wecom (callback
// crypto only). It must not import store, handler or any
// domain package: they test against it, not the other way round.
package wecomsim
