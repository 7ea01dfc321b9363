# Kiln: `make up` sets everything up and starts the all-in-one; `make test` sets everything up and runs all tests.
SHELL := /bin/bash
ADDON := agent/native/build/Release/kiln_agent.node
SYMBOLIZER_ADDON := symbolizer/native/build/Release/kiln_symbolizer.node
SERVER_ADDON := server/native/build/Release/kiln_server.node
TEST_FILES ?= test/dist

.PHONY: up test unit deps install build bpf native ts web lint typecheck workloads clean

# Workspaces with unit tests of their own (test/*.test.ts, run in process: seconds).
UNIT := @kiln/api @kiln/symbolizer @kiln/agent @kiln/server

up: build
	node bin/kiln.js up

test: build lint typecheck workloads unit
	node --test --test-reporter=spec --test-timeout=900000 $(TEST_FILES)

unit: build
	npm test $(addprefix -w ,$(UNIT))

deps:
	bash scripts/install-deps.sh

# npm ci only when the lockfile changed since the last install.
node_modules/.kiln-installed: package-lock.json package.json */package.json
	npm ci --no-audit --no-fund
	touch $@

install: deps node_modules/.kiln-installed

bpf: install
	$(MAKE) -C bpf

$(ADDON): $(wildcard agent/native/src/*) agent/native/binding.gyp $(wildcard bpf/*.bpf.c bpf/*.h) | bpf
	npm run build:native -w @kiln/agent

$(SYMBOLIZER_ADDON): $(wildcard symbolizer/native/src/*) symbolizer/native/binding.gyp | install
	npm run build:native -w @kiln/symbolizer

$(SERVER_ADDON): $(wildcard server/native/src/*) server/native/binding.gyp | install
	npm run build:native -w @kiln/server

native: bpf $(ADDON) $(SYMBOLIZER_ADDON) $(SERVER_ADDON)

ts: install
	npx tsc -b

web: install
	npm run build -w @kiln/web

build: install bpf native ts web

workloads:
	$(MAKE) -C test/workloads

lint: install
	node scripts/check-dependency-versions.mjs
	npx prettier --check .
	npx eslint .

# tsc -b (the build) checks the packages; this adds their unit tests and the UI.
typecheck: ts
	for d in api symbolizer agent server; do npx tsc -p $$d/test || exit 1; done
	npm run check -w @kiln/web

clean:
	$(MAKE) -C bpf clean
	rm -rf agent/native/build symbolizer/native/build server/native/build */dist web/build web/.svelte-kit node_modules test/workloads/bin
