package workbench

import (
	"context"
	"testing"
	"time"

	"github.com/wecomapp/wecomapp/demo"
	"github.com/wecomapp/wecomapp/store/storetest"
)

// BenchmarkHome is one workbench page's server work over the small demo
// university and the seeded catalog on SQLite: the person's records and
// tags, favourites and recent, every role rule and tile rule, the badges.
func BenchmarkHome(b *testing.B) {
	ctx := context.Background()
	db := storetest.SQLite(b)
	u := demo.Generate(demo.Small())
	if err := db.LoadDataCenter(ctx, u.DataCenter(), time.Now()); err != nil {
		b.Fatal(err)
	}
	if err := db.LoadPeopleExt(ctx, u.PeopleExt()); err != nil {
		b.Fatal(err)
	}
	if err := db.LoadPersonTags(ctx, u.PersonTags()); err != nil {
		b.Fatal(err)
	}
	s, err := New(ctx, db, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if ok, err := s.Seed(ctx); err != nil || !ok {
		b.Fatalf("seed: %v, %v", ok, err)
	}
	var users []string
	for _, p := range u.People {
		users = append(users, p.UserID)
	}
	tiles := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		h, err := s.Home(ctx, users[i%len(users)], "")
		if err != nil {
			b.Fatalf("%s: %v", users[i%len(users)], err)
		}
		for _, sec := range h.Sections {
			tiles += len(sec.Tiles)
		}
	}
	b.ReportMetric(float64(tiles)/float64(b.N), "tiles/op")
}

// BenchmarkResolve is the in-memory part of a page: every role rule and
// the tile rules of the chosen workbench, for one person.
func BenchmarkResolve(b *testing.B) {
	ctx := context.Background()
	db := storetest.SQLite(b)
	u := demo.Generate(demo.Small())
	if err := db.LoadDataCenter(ctx, u.DataCenter(), time.Now()); err != nil {
		b.Fatal(err)
	}
	s, err := New(ctx, db, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Seed(ctx); err != nil {
		b.Fatal(err)
	}
	p, err := s.Person(ctx, u.People[len(u.People)/2].UserID)
	if err != nil {
		b.Fatal(err)
	}
	c := s.cat.Load()
	b.ReportAllocs()
	for b.Loop() {
		hs := s.resolve(c, &p)
		if len(hs) == 0 {
			b.Fatal("holds nothing")
		}
		env := &p.Records[hs[0].rec].Env
		for _, sec := range c.workbenches[hs[0].Workbench].sections {
			for _, t := range sec.tiles {
				s.tileVisible(c, t, env)
			}
		}
	}
}
