# wecomapp — one binary, two commands: `make run` and `make test`.
GO        ?= go
BIN       := bin/wecomapp
PKG       := ./cmd/wecomapp
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 10s
BENCHTIME ?= 1s

.PHONY: run build sim migrate seed test test-short bench bench-sync fuzz lint fmt clean

run: build ## build and serve the embedded default (SQLite, in-process cache, WeCom simulator)
	./$(BIN) serve

build: ## build bin/wecomapp
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) $(PKG)

sim: build ## serve the WeCom simulator alone on 127.0.0.1:9090
	./$(BIN) sim

migrate: build ## apply pending migrations to the configured database
	./$(BIN) migrate up

seed: build ## load the demo university into the data-center tables
	./$(BIN) seed

test: ## the whole suite, with the race detector (set WECOMAPP_TEST_* to include MySQL/Redis)
	$(GO) test -race -count=1 $(TESTFLAGS) ./...

test-short: ## the whole suite without the race detector
	$(GO) test -count=1 ./...

bench: ## benchmarks (BENCHTIME=3s to lengthen)
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) ./...

bench-sync: ## the contacts sync at full scale from the command line (first load, no change, 1 % churn, killed and resumed, the guard); ~10 min
	./scripts/bench-sync.sh full

fuzz: ## a short run of every fuzz target (FUZZTIME=1m to lengthen)
	$(GO) test -run='^$$' -fuzz='^FuzzOpenAndParse$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./wecom/
	$(GO) test -run='^$$' -fuzz='^FuzzParseEvent$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./wecom/
	$(GO) test -run='^$$' -fuzz='^FuzzParseResponse$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./cas/

lint: ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin data
