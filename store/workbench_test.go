package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"

	"github.com/wecomapp/wecomapp/store"
	"github.com/wecomapp/wecomapp/store/storetest"
)

func testCatalog() (store.WBCatalog, []store.CampusContent) {
	return store.WBCatalog{
			Modules: []store.WBModule{
				{Key: "campus", Name: "校园概况", Category: "校园概况", Kind: "builtin", Icon: "🏫", Badge: "notices", Status: "live", Summary: "简介", Keywords: []string{"地图", "新闻"}, Sort: 1},
				{Key: "oa", Name: "OA", Category: "办公服务", Kind: "external", Target: "https://oa.example.edu.cn/", Status: "live", Keywords: []string{}, Sort: 2},
			},
			Roles: []store.WBRole{
				{Key: "staff", Name: "教职工", Identity: "faculty", Rule: `kind == "faculty"`, Workbench: "staff", Priority: 500, Enabled: true},
				{Key: "ghost", Name: "停用", Identity: "faculty", Rule: `true`, Workbench: "staff", Priority: 900, Enabled: false},
			},
			Workbenches: []store.WBWorkbench{{Key: "staff", Name: "教职工工作台"}},
			Sections:    []store.WBSection{{ID: 1, Workbench: "staff", Title: "常用", Sort: 1}, {ID: 2, Workbench: "staff", Title: "更多", Sort: 2}},
			Tiles: []store.WBTile{
				{ID: 1, Section: 1, Workbench: "staff", Module: "campus", Sort: 1},
				{ID: 2, Section: 1, Workbench: "staff", Module: "oa", Visible: `"教务处" in dept_names`, Sort: 2},
				{ID: 3, Section: 2, Workbench: "staff", Module: "campus", Sort: 1},
			},
		}, []store.CampusContent{
			{Key: "profile", Kind: "section", Title: "学校简介", Body: "第一段\n\n第二段", Sort: 1},
			{Key: "n1", Kind: "notice", Title: "通知", Body: "正文", Sort: 2, PublishedAt: store.Millis(p0)},
		}
}

func TestWBCatalogRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cat, content := testCatalog()
		if err := db.WithTx(ctx, func(tx *sqlx.Tx) error { return db.SeedWB(ctx, tx, cat, content, p0) }); err != nil {
			t.Fatal(err)
		}
		got, err := db.LoadWBCatalog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Roles come highest priority first.
		cat.Roles[0], cat.Roles[1] = cat.Roles[1], cat.Roles[0]
		if diff := cmp.Diff(cat, got); diff != "" {
			t.Errorf("catalog (-seeded +loaded):\n%s", diff)
		}
		gotContent, err := db.CampusContents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range content {
			content[i].UpdatedAt = store.Millis(p0)
		}
		// Ordered by kind: notice before section.
		if diff := cmp.Diff([]store.CampusContent{content[1], content[0]}, gotContent); diff != "" {
			t.Errorf("content (-seeded +loaded):\n%s", diff)
		}
		if r, w, m, err := db.CountWB(ctx); err != nil || r != 2 || w != 1 || m != 2 {
			t.Errorf("counts = %d %d %d %v", r, w, m, err)
		}
		if _, err := db.WBRole(ctx, nil, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing role: %v", err)
		}
		if _, err := db.WBModule(ctx, nil, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing module: %v", err)
		}
		if _, err := db.CampusContentByKey(ctx, nil, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("missing content: %v", err)
		}
	})
}

func TestWBSectionsAndTilesEdit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cat, content := testCatalog()
		if err := db.WithTx(ctx, func(tx *sqlx.Tx) error { return db.SeedWB(ctx, tx, cat, content, p0) }); err != nil {
			t.Fatal(err)
		}
		// New rows continue after the seeded ids and go to the end of their list.
		sec, err := db.InsertWBSection(ctx, nil, store.WBSection{Workbench: "staff", Title: "科研"})
		if err != nil {
			t.Fatal(err)
		}
		if sec.ID <= 2 || sec.Sort != 3 {
			t.Errorf("new section = %+v, want id > 2 and sort 3", sec)
		}
		tile, err := db.InsertWBTile(ctx, nil, store.WBTile{Section: 1, Workbench: "staff", Module: "oa"})
		if err != nil {
			t.Fatal(err)
		}
		if tile.ID <= 3 || tile.Sort != 3 {
			t.Errorf("new tile = %+v, want id > 3 and sort 3", tile)
		}
		tile.Section, tile.Visible, tile.Sort = sec.ID, `kind == "faculty"`, 7
		if err := db.UpdateWBTile(ctx, nil, tile); err != nil {
			t.Fatal(err)
		}
		if got, err := db.WBTile(ctx, nil, tile.ID); err != nil || got != tile {
			t.Errorf("tile after update = %+v, %v; want %+v", got, err, tile)
		}
		sec.Title, sec.Sort = "科研服务", 0
		if err := db.UpdateWBSection(ctx, nil, sec); err != nil {
			t.Fatal(err)
		}
		secs, err := db.WBSections(ctx, nil, "staff")
		if err != nil || len(secs) != 3 || secs[0] != sec {
			t.Errorf("sections = %+v, %v; want the renamed one first (sort 0)", secs, err)
		}
		// Deleting a section takes its tiles with it.
		if err := db.DeleteWBSection(ctx, nil, sec.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.WBTile(ctx, nil, tile.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tile of a deleted section: %v", err)
		}
		if err := db.DeleteWBTile(ctx, nil, 2); err != nil {
			t.Fatal(err)
		}
		tiles, err := db.WBTiles(ctx, nil, "staff")
		if err != nil || len(tiles) != 2 || tiles[0].ID != 1 || tiles[1].ID != 3 {
			t.Errorf("tiles = %+v, %v; want 1 and 3", tiles, err)
		}

		// Put replaces whole rows.
		r := cat.Roles[0]
		r.Rule, r.Priority = `kind == "faculty" && leader`, 600
		if err := db.PutWBRole(ctx, nil, r, p0); err != nil {
			t.Fatal(err)
		}
		if got, err := db.WBRole(ctx, nil, "staff"); err != nil || got != r {
			t.Errorf("role = %+v, %v; want %+v", got, err, r)
		}
		m := cat.Modules[1]
		m.Keywords, m.Name = []string{"公文", "审批"}, "协同办公"
		if err := db.PutWBModule(ctx, nil, m, p0); err != nil {
			t.Fatal(err)
		}
		if got, err := db.WBModule(ctx, nil, "oa"); err != nil || !cmp.Equal(got, m) {
			t.Errorf("module = %+v, %v; want %+v", got, err, m)
		}
		c := store.CampusContent{Key: "n2", Kind: "notice", Title: "新通知", Body: "正文", PublishedAt: store.Millis(p0) + 1}
		if err := db.PutCampusContent(ctx, nil, c, p0); err != nil {
			t.Fatal(err)
		}
		c.UpdatedAt = store.Millis(p0)
		if got, err := db.CampusContentByKey(ctx, nil, "n2"); err != nil || got != c {
			t.Errorf("content = %+v, %v; want %+v", got, err, c)
		}
	})
}
