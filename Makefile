# Build, test and lint targets for edge. `make test` is what CI runs (.ci/run).

GO          ?= go
PKGS        ?= ./...
FUZZTIME    ?= 20s
# CI bounds each target by executions, not time: with a duration, Go's fuzzing coordinator
# can fail a target with "context deadline exceeded" when the deadline meets a worker that is
# still busy (go.dev/issue/75804; seen in CI while a worker minimized a new corpus entry).
FUZZTIME_CI ?= 50000x
# Time a worker may spend minimizing one input (Go's default is 60s).
FUZZMINTIME ?= 5s

.PHONY: all build test test-short test-race bench fuzz fuzz-ci lint fmt

all: lint build

build:
	$(GO) build $(PKGS)

## test: vet, every test (integration included, fuzz seed corpora as plain tests) under the race
## detector, then every fuzz target for FUZZTIME_CI.
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -timeout 25m $(PKGS)
	$(MAKE) fuzz-ci

## test-short: quick tests only (tests that honour testing.Short skip themselves), no race detector.
test-short:
	$(GO) test -short -timeout 10m $(PKGS)

## test-race: every test under the race detector, without fuzzing.
test-race:
	$(GO) test -race -timeout 25m $(PKGS)

## bench: micro-benchmarks of the media path, with allocation counts.
bench:
	$(GO) test -run xxx -bench . -benchmem ./sfu/...

# run-fuzz runs every Fuzz target of the module for $(1) each. Targets are discovered per package
# with `go test -list`, in the packages whose _test.go files declare a func Fuzz*.
define run-fuzz
	@set -eu; \
	dirs=$$(grep -rl --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.git \
		-e '^func Fuzz' . | xargs -r -n1 dirname | sort -u); \
	for dir in $$dirs; do \
		for name in $$($(GO) test -list '^Fuzz' "$$dir" | grep '^Fuzz' || true); do \
			echo "fuzz $$dir $$name for $(1)"; \
			$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(1) -fuzzminimizetime $(FUZZMINTIME) "$$dir"; \
		done; \
	done
endef

## fuzz: every fuzz target for FUZZTIME (default 20s) each.
fuzz:
	$(call run-fuzz,$(FUZZTIME))

## fuzz-ci: every fuzz target for FUZZTIME_CI (default 50000 executions) each.
fuzz-ci:
	$(call run-fuzz,$(FUZZTIME_CI))

## lint: gofmt must have nothing to say, go vet must pass.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')
