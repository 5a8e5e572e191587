package h5

// Views of the off-campus sign-in (handler/guest.go): a guest types a
// mobile number, receives a code by SMS and signs in with it.

// GuestLogin is the sign-in page (page guest_login), in two steps: the
// number (CodeSent false, the form posts to /guest/code), then the code
// (CodeSent, posts to /guest/login; "重新获取" posts the number again).
// Page.Flash says where the code went; Page.Error a refusal of the whole
// attempt (a limit, an SMS outage). FieldError (keys "mobile", "code")
// says what is wrong with the input.
type GuestLogin struct {
	Page
	// Return is the local path signing in leads to.
	Return string
	// Mobile is the number as typed, to fill the field again.
	Mobile   string
	CodeSent bool
	// SentTo is the masked number the code went to (139****5678).
	SentTo string
	// Minutes is how long a code is good for.
	Minutes    int
	FieldError map[string]string
	// Wait, when > 0, is the seconds until another try may work (a rate
	// limit), for the page and the Retry-After header alike.
	Wait int
	// WaitText is the wait as people read it: "42 秒", "约 12 分钟".
	WaitText string
}
