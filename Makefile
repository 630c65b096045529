# mailwarden: `make run` starts a development daemon, `make test` runs every test.
SHELL      := /bin/bash
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all deps web build build-asan run test format clean deb

all: build

deps:
	@scripts/install-deps build

# The panel (web/dist, served by the daemon). npm ci runs again only when the lock file changed,
# the build only when a file it reads is newer than the panel built last. A new build replaces
# web/dist whole, by a rename once it is complete: a daemon serving the panel (the browser tests'
# while the package test builds) never finds it half written or empty.
WEB_INPUTS := src index.html package.json package-lock.json tsconfig.json vite.config.js \
  node_modules/.package-lock.json
web: deps
	@cd web && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } \
	  && if [ -e dist/index.html ] && [ -z "$$(find $(WEB_INPUTS) -newer dist/index.html -print -quit)" ]; then :; \
	  else rm -rf dist.new dist.old && npm run --silent build -- --outDir dist.new --emptyOutDir \
	    && { [ ! -e dist ] || mv dist dist.old; } && mv dist.new dist && rm -rf dist.old; fi

build: deps web
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMW_WERROR=ON >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

build-asan: deps web
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMW_SANITIZE=ON -DMW_WERROR=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

run: build
	@scripts/run-dev $(BUILD)

# Every test runs once, on the AddressSanitizer+UndefinedBehaviorSanitizer build (warnings as
# errors); the package test builds the Release package (make deb) beside the others.
test:
	@scripts/install-deps test
	@$(MAKE) --no-print-directory build-asan
	@scripts/run-tests $(ASAN_BUILD)

# The Debian package, built as a packager would: Release, warnings not errors (debian/rules).
# Leaves build-deb/mailwarden_VERSION_ARCH.deb (and its -dbgsym, .buildinfo and .changes), and
# the build's output in build-deb/build.log (the package test reads it for compiler warnings).
deb: web
	@scripts/install-deps package
	@mkdir -p build-deb
	@set -o pipefail; DEB_BUILD_OPTIONS="parallel=$(JOBS) $(DEB_BUILD_OPTIONS)" dpkg-buildpackage -b -us -uc \
	  --changes-option=-ubuild-deb --buildinfo-option=-ubuild-deb \
	  --changes-file=build-deb/mailwarden.changes --buildinfo-file=build-deb/mailwarden.buildinfo \
	  2>&1 | tee build-deb/build.log
	@ls build-deb/*.deb

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-deb
