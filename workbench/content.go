package workbench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wecomapp/wecomapp/store"
)

// Content kinds of the campus overview.
const (
	ContentSection = "section" // profile, history, charter, …
	ContentNotice  = "notice"
	ContentNews    = "news"
)

// Content is one piece of the campus overview, editable in the console.
type Content struct {
	Key, Kind, Title, Body string
	Published              time.Time // notices and news; zero for sections
	Updated                time.Time
	Sort                   int
}

func contentFromStore(c store.CampusContent) Content {
	out := Content{Key: c.Key, Kind: c.Kind, Title: c.Title, Body: c.Body, Sort: c.Sort, Updated: store.Time(c.UpdatedAt)}
	if c.PublishedAt != 0 {
		out.Published = store.Time(c.PublishedAt)
	}
	return out
}

func contentToStore(c Content) store.CampusContent {
	out := store.CampusContent{Key: c.Key, Kind: c.Kind, Title: c.Title, Body: c.Body, Sort: c.Sort}
	if !c.Published.IsZero() {
		out.PublishedAt = store.Millis(c.Published)
	}
	return out
}

// Campus lists the campus overview: sections in their order, then notices
// and news, newest first. Pieces published in the future are not shown.
func (s *Service) Campus(ctx context.Context) ([]Content, error) {
	rows, err := s.db.CampusContents(ctx)
	if err != nil {
		return nil, fmt.Errorf("workbench: campus: %w", err)
	}
	now := store.Millis(s.now())
	var out []Content
	for _, kind := range []string{ContentSection, ContentNotice, ContentNews} {
		var part []Content
		for _, r := range rows {
			if r.Kind == kind && r.PublishedAt <= now {
				part = append(part, contentFromStore(r))
			}
		}
		if kind != ContentSection {
			slices.SortStableFunc(part, func(a, b Content) int { return b.Published.Compare(a.Published) })
		}
		out = append(out, part...)
	}
	return out, nil
}

// ContentItem returns one piece of the campus overview; store.ErrNotFound
// (wrapped) when there is none.
func (s *Service) ContentItem(ctx context.Context, key string) (Content, error) {
	r, err := s.db.CampusContentByKey(ctx, nil, key)
	if err != nil {
		return Content{}, fmt.Errorf("workbench: content %s: %w", key, err)
	}
	if r.PublishedAt > store.Millis(s.now()) {
		return Content{}, fmt.Errorf("workbench: content %s: not yet published: %w", key, store.ErrNotFound)
	}
	return contentFromStore(r), nil
}

// MarkNoticesRead resets the person's "notices" badge: it counts notices
// published after now.
func (s *Service) MarkNoticesRead(ctx context.Context, userID string) error {
	if err := s.db.SetNoticesRead(ctx, userID, s.now()); err != nil {
		return fmt.Errorf("workbench: mark notices read by %s: %w", userID, err)
	}
	if s.changed != nil {
		s.changed(ctx, false, []string{userID})
	}
	return nil
}

// SaveContent creates or replaces a piece of the campus overview (audited
// "workbench.content.add" / "workbench.content.update").
func (s *Service) SaveContent(ctx context.Context, actor store.Actor, c Content) error {
	switch {
	case !keyPattern.MatchString(c.Key):
		return invalid("key", "%q is not a key: use a-z, 0-9 and _", c.Key)
	case c.Kind != ContentSection && c.Kind != ContentNotice && c.Kind != ContentNews:
		return invalid("kind", "%q is not section, notice or news", c.Kind)
	case trimmed(c.Title) == "":
		return invalid("title", "is empty")
	case c.Kind != ContentSection && c.Published.IsZero():
		return invalid("published", "a %s needs a publication date", c.Kind)
	}
	err := s.save(ctx, actor, func(tx txq) (audit, error) {
		before, err := s.db.CampusContentByKey(ctx, tx, c.Key)
		var prev any
		action := "workbench.content.update"
		switch {
		case errors.Is(err, store.ErrNotFound):
			action = "workbench.content.add"
		case err != nil:
			return audit{}, err
		default:
			prev = contentFromStore(before)
		}
		if err := s.db.PutCampusContent(ctx, tx, contentToStore(c), s.now()); err != nil {
			return audit{}, err
		}
		after, err := s.db.CampusContentByKey(ctx, tx, c.Key)
		if err != nil {
			return audit{}, err
		}
		return audit{action, "content/" + c.Key, prev, contentFromStore(after)}, nil
	})
	if err == nil && c.Kind == ContentNotice && s.changed != nil {
		// Everyone's unread count may have moved.
		s.changed(ctx, true, nil)
	}
	return err
}
