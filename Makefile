# phoenixkitdb developer tasks. `make help` lists them.
GO            ?= go
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
CHAOS_DURATION ?= 60s
FUZZTIME      ?= 30s

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: run
run: ## Run the example host app (embedded PostgreSQL unless DATABASE_URL is set)
	$(GO) run ./supervisor_example $(ARGS)

.PHONY: test
test: ## go vet, then every test with the race detector against a real PostgreSQL
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

.PHONY: lint
lint: ## gofmt check, go vet and staticcheck (pinned)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./supervisor_example
	$(GO) vet -tags chaos ./internal/chaos
	$(GO) run $(STATICCHECK) ./...

.PHONY: fuzz
fuzz: ## Fuzz the payload parser and the wire reader, FUZZTIME each (default 30s)
	$(GO) test -run '^$$' -fuzz FuzzParsePayload -fuzztime $(FUZZTIME) ./listener
	$(GO) test -run '^$$' -fuzz FuzzWireReader -fuzztime $(FUZZTIME) ./listener

.PHONY: bench
bench: ## Measure throughput, latency, fan-out, write cost, recovery and memory (see docs/performance.md)
	cd bench && $(GO) run . $(ARGS)

.PHONY: chaos
chaos: ## Chaos soak: faults under load, checks nothing is lost silently (CHAOS_DURATION, default 60s)
	$(GO) test -tags chaos -race -count=1 -v -run Chaos -timeout 30m ./internal/chaos -chaos.duration=$(CHAOS_DURATION)

.PHONY: screenshot
screenshot: ## Refresh docs/activity.png from the browser test
	PHOENIXKITDB_SCREENSHOT=$(CURDIR)/docs/activity.png $(GO) test -count=1 -tags e2e -run E2E ./supervisor_example

.PHONY: e2e
e2e: ## Browser test of the Activity page in headless Chromium
	$(GO) test -count=1 -tags e2e -run E2E -timeout 10m ./supervisor_example
