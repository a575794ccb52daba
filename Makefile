# Thin wrapper over Meson for the README's commands. Every target first runs
# scripts/install-deps (a no-op when everything is installed).
BUILD      ?= build
BUILD_SAN  ?= build-san
BUILD_REL  ?= build-release
MESON_OPTS ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 15
PREFIX     ?= /usr/local
DESTDIR    ?=

.PHONY: all deps build demo demo-group check check-fast test-san bench sweep failure-models clean install uninstall deb

all: build

deps:
	@./scripts/install-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD_SAN)/build.ninja:
	meson setup $(BUILD_SAN) -Dwerror=true -Db_sanitize=address,undefined \
	  -Db_lundef=false -Dbuildtype=debug $(MESON_OPTS)

$(BUILD_REL)/build.ninja:
	meson setup $(BUILD_REL) -Dbuildtype=release -Db_ndebug=false -Dtests=false $(MESON_OPTS)

demo: build
	./scripts/demo

# Group membership live: five nodes join through a contact point, two are
# killed (one the coordinator), both rejoin; checked and drawn.
demo-group: build
	./scripts/demo-group

# Every test: the normal build (warnings are errors), then the whole suite
# again under AddressSanitizer + UBSan.
check: deps $(BUILD)/build.ninja $(BUILD_SAN)/build.ninja
	./scripts/check-env-contract
	./scripts/check-layers
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs --num-processes $(JOBS)
	ninja -C $(BUILD_SAN)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(BUILD_SAN) --print-errorlogs --num-processes $(JOBS) --no-suite slow
	./scripts/fuzz-smoke $(FUZZ_SECONDS)
	./scripts/summarize-tests $(BUILD) $(BUILD_SAN)

# Only the normal build's tests (quick iteration).
check-fast: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs --num-processes $(JOBS)

bench: deps $(BUILD_REL)/build.ninja
	ninja -C $(BUILD_REL)
	$(BUILD_REL)/tools/cohort bench all

# Long seed sweeps of every shipped scenario.
sweep: deps $(BUILD_REL)/build.ninja
	ninja -C $(BUILD_REL)
	./scripts/sweep $(BUILD_REL)/tools/cohort 10000

# docs/failure-models.md: every protocol × failure model over 20 seeds
# (scripts/failure-models; SEEDS=N for more).
SEEDS ?= 20
failure-models: deps $(BUILD_REL)/build.ninja
	ninja -C $(BUILD_REL)
	./scripts/failure-models --cohort $(BUILD_REL)/tools/cohort --seeds $(SEEDS)

# Install the release build: libcohort.so.0 (+ libcohort.a), headers under
# include/cohort/, cohort.pc, the cohort and protoc-gen-cohort programs and
# the man pages, below $(DESTDIR)$(PREFIX).
install: deps $(BUILD_REL)/build.ninja
	meson configure $(BUILD_REL) -Dprefix=$(PREFIX)
	ninja -C $(BUILD_REL)
	DESTDIR=$(DESTDIR) meson install -C $(BUILD_REL) --no-rebuild

# Debian packages libcohort0, libcohort-dev, cohort (dpkg-buildpackage -us -uc),
# lintian, then the install test on the extracted packages; into build-deb/.
deb: deps
	./scripts/build-deb

uninstall:
	cd $(BUILD_REL) && DESTDIR=$(DESTDIR) ninja uninstall

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(BUILD_REL) build-fuzz
