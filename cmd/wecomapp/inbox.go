package main

import (
	"net"
	"os"
	"strings"

	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/contacts"
	"github.com/wecomapp/wecomapp/inbox"
	"github.com/wecomapp/wecomapp/wecom"
	"github.com/wecomapp/wecomapp/workbench/native"
)

// registerInboxHandlers connects callback kinds to the packages that own
// them. Later issues add contacts and approval handlers here.
func registerInboxHandlers(ib *inbox.Inbox, log *zap.Logger, tiles *native.Pusher, mirror *contacts.Mirror) {
	inbox.RegisterHelp(ib)
	// Opening the app refreshes the member's WeCom workbench tile.
	ib.Register(wecom.KindEnterAgent, tiles.EnterAgent)
	// change_contact carries ids only: the object is marked touched, and
	// the next sync run re-asserts the data center's values.
	for _, k := range contacts.ChangeContactKinds {
		ib.Register(k, mirror.HandleChangeContact)
	}
}

// inboxInstance names this instance for the inbox's leases: the hostname
// and the listening port, the same across restarts (so a restarted
// instance takes back the rows it held at once) and different between
// instances running at the same time (two processes cannot listen on one
// port of one host; containers have their own hostnames).
func inboxInstance(a net.Addr) string {
	host, _ := os.Hostname()
	if host == "" {
		host = "wecomapp"
	}
	_, port, _ := net.SplitHostPort(a.String())
	name := strings.ReplaceAll(host, "/", "_") + ":" + port
	if len(name) > 100 {
		name = name[len(name)-100:]
	}
	return name
}
