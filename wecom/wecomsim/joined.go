package wecomsim

import "fmt"

// Joined is how a member came to use WeCom, for SetJoined.
type Joined struct {
	UserID       string
	Status       int    // 1 active; 4 not yet; 2 and 5 as WeCom has them
	WeChatPlugin bool   // follows the corp in personal WeChat (docs/wecom.md §10)
	OpenID       string // as convert_to_openid would answer; "" keeps the simulator's
}

// SetJoined sets, as a Fixture would and without any event, how members
// created through the API have since joined: their status, whether they
// use the WeChat plugin, their openid. It stands for people logging in on
// their phones, which the simulator cannot do by itself: the demo calls it
// once its first org sync has created the corp's members, so the people of
// the demo can open the app. Unknown userids are an error; the others are
// set.
func (s *Sim) SetJoined(js []Joined) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var missing []string
	for _, j := range js {
		m := s.st.user(j.UserID)
		if m == nil {
			missing = append(missing, j.UserID)
			continue
		}
		if j.Status != 0 {
			m.Status = j.Status
		}
		m.WeChatPlugin = j.WeChatPlugin
		if j.OpenID != "" {
			m.OpenID = j.OpenID
		}
		if m.Status == 1 {
			m.activated = true
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("wecomsim: set joined: %d members not in the corp (first %s)", len(missing), missing[0])
	}
	return nil
}
