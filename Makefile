# Kiln: `make up` sets everything up and starts the all-in-one; `make test` sets everything up and runs all tests.
SHELL := /bin/bash
ADDON := agent/native/build/Release/kiln_agent.node
TEST_FILES ?= test/dist

.PHONY: up test deps install build bpf native ts web lint typecheck clean

up: build
	node bin/kiln.js up

test: build lint typecheck
	node --test --test-reporter=spec --test-timeout=900000 $(TEST_FILES)

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

native: bpf $(ADDON)

ts: install
	npx tsc -b

web: install
	npm run build -w @kiln/web

build: install bpf native ts web

lint: install
	npx eslint .

typecheck: install
	npm run check -w @kiln/web

clean:
	$(MAKE) -C bpf clean
	rm -rf agent/native/build */dist web/build web/.svelte-kit node_modules
