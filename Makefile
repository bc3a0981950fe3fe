# Emberwatch build, test and CI targets. 'make help' lists them.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BUILD    := CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)'
PKG      := ./agent/cmd/emberwatch

.PHONY: help build demo test check vet interop cross cross-check deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## bin/emberwatch, static
	$(BUILD) -o bin/emberwatch $(PKG)

demo: build ## a simulated rack, embedded broker, agent and console view
	bin/emberwatch demo

test: ## hermetic tests (only Go needed)
	$(GO) test -count=1 ./...

vet: ## go vet and gofmt
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1; }
	$(GO) vet ./...

deps: ## install the real peers CI tests against (Debian packages; needs root)
	cross/install-deps.sh

interop: ## tests against real peers (mosquitto, snmpd, snmpsim, qemu ...)
	$(GO) test -count=1 -tags interop -timeout 20m ./...

check: deps vet ## what CI runs
	CGO_ENABLED=1 $(GO) test -count=1 -race -timeout 20m ./...
	$(MAKE) interop
	$(MAKE) cross-check

cross: ## static binaries for linux arm v7, arm64, amd64 in dist/
	cross/build.sh "$(LDFLAGS)"

cross-check: cross ## run the arm builds under qemu-user
	cross/qemu-check.sh

clean:
	rm -rf bin dist
