package workbench

import (
	"context"
	"errors"
	"slices"

	"go.uber.org/zap"
)

// FigureSource computes the key figure of module's tile for a person (a
// data module's balance, its count of loans): ErrNoFigure when the module
// has none.
type FigureSource func(ctx context.Context, module, userID string) (string, error)

// ErrNoFigure is a FigureSource's answer for a module without a key
// figure: the tile shows none, and no warning sign either.
var ErrNoFigure = errors.New("workbench: the module has no key figure")

// RegisterFigures makes fn the source of the tiles' key figures. On each
// workbench page it is called once per live built-in module shown,
// concurrently with the badges and under the same 300 ms deadline; an
// error (other than ErrNoFigure) or a timeout marks those tiles
// FigureUnavailable, and the rest of the page renders as usual.
func (s *Service) RegisterFigures(fn FigureSource) {
	s.figures.Store(&fn)
}

type figureAnswer struct {
	module, figure string
	ok             bool
}

// fillFigures computes the key figure of each live built-in module on the
// page, in parallel.
func (s *Service) fillFigures(ctx context.Context, c *catalog, h *Home) {
	src := s.figures.Load()
	if src == nil {
		return
	}
	fn := *src
	each := func(f func(t *Tile)) {
		for i := range h.Sections {
			for j := range h.Sections[i].Tiles {
				f(&h.Sections[i].Tiles[j])
			}
		}
		for i := range h.Favourites {
			f(&h.Favourites[i])
		}
		for i := range h.Recent {
			f(&h.Recent[i])
		}
	}
	var modules []string
	each(func(t *Tile) {
		if m := c.modules[t.Module]; m != nil && m.Kind == ModuleBuiltin && m.Status == StatusLive && !slices.Contains(modules, m.Key) {
			modules = append(modules, m.Key)
		}
	})
	if len(modules) == 0 {
		return
	}
	ch := make(chan figureAnswer, len(modules))
	for _, module := range modules {
		go func() {
			fctx, cancel := context.WithTimeout(ctx, badgeTimeout)
			defer cancel()
			done := make(chan figureAnswer, 1)
			go func() {
				fig, err := fn(fctx, module, h.Person.UserID)
				switch {
				case errors.Is(err, ErrNoFigure):
					done <- figureAnswer{module: module, ok: true}
				case err != nil:
					s.log.Warn("workbench: figure source failed", zap.String("module", module), zap.Error(err))
					done <- figureAnswer{module: module}
				default:
					done <- figureAnswer{module, fig, true}
				}
			}()
			select {
			case a := <-done:
				ch <- a
			case <-fctx.Done():
				// A source that ignores its context is abandoned, not waited for.
				if !errors.Is(ctx.Err(), context.Canceled) {
					s.log.Warn("workbench: figure source timed out", zap.String("module", module))
				}
				ch <- figureAnswer{module: module}
			}
		}()
	}
	results := make(map[string]figureAnswer, len(modules))
	for range modules {
		a := <-ch
		results[a.module] = a
	}
	each(func(t *Tile) {
		if r, ok := results[t.Module]; ok {
			t.Figure, t.FigureUnavailable = r.figure, !r.ok
		}
	})
}
