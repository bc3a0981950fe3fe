# Emberwatch build, test and CI targets. 'make help' lists them.
GO          ?= go
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT      ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BUILD       := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'
PKG         := ./agent/cmd/emberwatch
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Seconds each fuzz target runs in 'make check' ('make fuzz FUZZTIME=60s' for longer).
FUZZTIME    ?= 5s

.PHONY: help build demo test check vet lint interop cross cross-check deps fuzz package \
	bench bench-modbus bench-detect bench-footprint bench-shed bench-snmp clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## bin/emberwatch, static
	$(BUILD) -o bin/emberwatch $(PKG)

demo: build ## a simulated rack, embedded broker, agent and console view
	bin/emberwatch demo

test: ## hermetic tests (only Go needed)
	$(GO) test -count=1 ./...

vet: ## gofmt and go vet
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags interop ./...

lint: ## staticcheck (fetched through the Go module proxy)
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(STATICCHECK) -tags interop ./...

deps: ## install the real peers CI tests against (Debian packages; needs root)
	cross/install-deps.sh

interop: ## tests against real peers (mosquitto, snmpd, snmpsim, upsc, qemu, ../shared/data)
	$(GO) test -count=1 -tags interop -timeout 20m ./...

check: deps vet lint ## what CI runs: hermetic tests with -race, interop, fuzz, cross builds under qemu, packages
	CGO_ENABLED=1 $(GO) test -count=1 -race -timeout 20m ./...
	$(MAKE) interop
	$(MAKE) fuzz
	$(MAKE) cross-check
	$(MAKE) package

cross: ## static binaries for linux arm v7, arm64, amd64 in dist/
	cross/build.sh "$(LDFLAGS)"

cross-check: cross ## run the arm builds under qemu-user: version, a poll, detector determinism
	cross/qemu-check.sh

fuzz: ## every fuzz target for FUZZTIME each
	FUZZTIME=$(FUZZTIME) cross/fuzz.sh

package: cross ## .deb (amd64, arm64, armhf) and tarballs in dist/, with install/upgrade/purge checks
	cross/package.sh

bench: bench-modbus bench-detect ## the main benchmarks

bench-modbus: ## planner, TCP poll and RTU line-rate figures
	$(GO) test -run '^$$' -bench 'Plan500|PollTCP500|PollSimulatorTCP500|RTU19200' -benchmem ./drivers/modbus/

bench-detect: ## detector against the 60 C and 1 C/min baselines on a fixed-seed scenario set; replay throughput
	$(GO) run ./testbench/cmd/benchdetect
	$(GO) test -run '^$$' -bench Replay -benchmem ./agent/detect/

bench-shed: ## critical alert to signed command at a host, 1000 runs
	$(GO) test -run '^$$' -bench CriticalToHost -benchtime 1000x ./agent/shed

bench-snmp: ## requests, packets and wall time per poll next to NUT's snmp-ups
	$(GO) test -count=1 -tags interop -run CompareWithNUT -v ./drivers/snmp/

bench-footprint: build ## 50 simulated devices x 40 points at 1 s for 2 min: RSS, CPU, allocs/poll
	$(GO) run ./testbench/cmd/footprint -duration 2m
	$(GO) run ./testbench/cmd/footprint -duration 2m -agent bin/emberwatch

clean:
	rm -rf bin dist
