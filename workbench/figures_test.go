package workbench

import (
	"context"
	"errors"
	"testing"
)

func TestFigures(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		tileOn := func(h *Home, module string) Tile {
			for _, s := range h.Sections {
				for _, tile := range s.Tiles {
					if tile.Module == module {
						return tile
					}
				}
			}
			t.Fatalf("%s not on the page", module)
			return Tile{}
		}
		asked := map[string]bool{}
		down := false
		f.s.RegisterFigures(func(ctx context.Context, module, userID string) (string, error) {
			switch module {
			case "counselor_desk":
				if down {
					return "", errors.New("shared database down")
				}
				return "学生 " + userID, nil
			case "campus":
				return "", ErrNoFigure
			}
			asked[module] = true
			return "?", nil
		})
		h := f.home(t, "T1", "counselor")
		if got := tileOn(h, "counselor_desk"); got.Figure != "学生 T1" || got.FigureUnavailable {
			t.Errorf("counselor_desk for T1: figure %q (unavailable %v), want 学生 T1", got.Figure, got.FigureUnavailable)
		}
		if got := tileOn(h, "campus"); got.Figure != "" || got.FigureUnavailable || got.Badge != 2 {
			t.Errorf("campus: figure %q (unavailable %v), badge %d: want no figure and the notices badge", got.Figure, got.FigureUnavailable, got.Badge)
		}
		for m := range asked {
			if m == "oa" || m == "student_leave" || m == "library" {
				t.Errorf("the figure source was asked for %s (external or coming soon)", m)
			}
		}
		down = true
		if got := tileOn(f.home(t, "T1", "counselor"), "counselor_desk"); !got.FigureUnavailable || got.Figure != "" {
			t.Errorf("failing source: figure %q, unavailable %v; want unavailable", got.Figure, got.FigureUnavailable)
		}
		// An admin's preview shows no one's key figures.
		p, err := f.s.Preview(f.ctx(), "T1", "counselor")
		if err != nil {
			t.Fatal(err)
		}
		if got := tileOn(p, "counselor_desk"); got.Figure != "" || got.FigureUnavailable {
			t.Errorf("preview shows the figure %q", got.Figure)
		}
		// A source that never answers costs its figure, not the page.
		f.s.RegisterFigures(func(ctx context.Context, module, userID string) (string, error) { select {} })
		h = f.home(t, "T1", "counselor")
		if got := tileOn(h, "counselor_desk"); !got.FigureUnavailable {
			t.Error("hanging source: want FigureUnavailable")
		}
		if got := tileOn(h, "campus"); got.Badge != 2 || got.BadgeUnavailable {
			t.Errorf("notices badge beside a hanging figure source: %d, %v", got.Badge, got.BadgeUnavailable)
		}
	})
}
