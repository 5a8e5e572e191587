package main

import (
	"go.uber.org/zap"

	"github.com/wecomapp/wecomapp/inbox"
)

// registerInboxHandlers connects callback kinds to the packages that own
// them. Later issues add contacts, approval and workbench handlers here.
func registerInboxHandlers(ib *inbox.Inbox, log *zap.Logger) {
	inbox.RegisterHelp(ib)
}
