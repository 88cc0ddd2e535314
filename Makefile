# cutover — build, run, test.  Quiet by default; `make V=1` shows commands.

PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
STATEDIR   ?= /var/lib/cutover
UNITDIR    ?= $(PREFIX)/lib/systemd/system
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/cutover
BUILD   ?= build
CC      ?= cc
PKGS     = libevent libevent_pthreads libevent_openssl libmongoc-1.0 libbson-1.0 \
           libpq sqlite3 yajl openssl
# Building needs only the libraries (Debian: scripts/deps.sh --build names
# them) and never installs anything; running the demos, the tests and the
# benchmarks installs what they need (make deps: all of it).
INSTALLING = deps run run-mongo check test test-% bench fuzz
ifneq ($(filter $(INSTALLING),$(MAKECMDGOALS)),)
DEPS_OK := $(shell ./scripts/deps.sh >&2 && echo ok)
ifneq ($(DEPS_OK),ok)
$(error installing the dependencies failed (scripts/deps.sh); see the messages above)
endif
else ifeq ($(filter clean,$(MAKECMDGOALS)),)
MISSING := $(strip $(shell ./scripts/deps.sh --build))
ifneq ($(MISSING),)
$(error missing build dependencies: $(MISSING); `make deps` installs them (apt-get), or install them yourself)
endif
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
CMOCKA_LIBS = $(shell pkg-config --libs cmocka)

VERSION := 0.1.0
CFLAGS  ?= -O2 -g
WARN     = -std=c11 -Wall -Wextra -Wpointer-arith -Wshadow -Wstrict-prototypes \
           -Wno-missing-field-initializers -Werror
CPPFLAGS += -D_GNU_SOURCE -DCUTOVER_VERSION='"$(VERSION)"' -Iinclude $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lpthread -lm

ifeq ($(V),1)
Q =
else
Q = @
endif

# src/main.c is the command; the library is every other source (the code map
# in README.md names the folders).
SRC_DIRS = src/core src/net src/api src/engine src/ops backends middleware migrate
LIB_SRC  = $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.SECONDARY:
.PHONY: all run run-mongo lint check test test-unit test-package test-fuzz test-fuzz-replay test-conformance test-contract test-big test-asan bench fuzz \
        install deps deb docs clean demo FORCE
all: $(BUILD)/cutover

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@

# The dashboard's files are embedded by the assembler (.incbin).
$(BUILD)/src/ops/dashboard.o: $(wildcard src/ops/dashboard/*)

$(BUILD)/libcutover.a: $(LIB_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/cutover: $(BUILD)/src/main.o $(BUILD)/libcutover.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The binary make install lays out: without -c it reads the installed file.
SYSTEM_CONFIG = $(SYSCONFDIR)/cutover/cutover.json
$(BUILD)/system/main.o: src/main.c $(BUILD)/system/paths
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (installed paths)")
	$(Q)$(CC) $(CPPFLAGS) -DDEFAULT_CONFIG='"$(SYSTEM_CONFIG)"' $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@

$(BUILD)/system/cutover: $(BUILD)/system/main.o $(BUILD)/libcutover.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Rebuilt when the install paths change.
$(BUILD)/system/paths: FORCE
	@mkdir -p $(dir $@)
	@echo '$(PREFIX) $(SYSCONFDIR) $(STATEDIR)' | cmp -s - $@ || echo '$(PREFIX) $(SYSCONFDIR) $(STATEDIR)' >$@

$(BUILD)/system/cutover.json: etc/cutover.json etc/system/cutover.json.sed $(BUILD)/system/paths
	$(Q)sed -f etc/system/cutover.json.sed -e 's|@STATEDIR@|$(STATEDIR)|g' etc/cutover.json >$@

$(BUILD)/system/cutover.service: etc/system/cutover.service.in $(BUILD)/system/paths
	$(Q)sed -e 's|@BINDIR@|$(PREFIX)/bin|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' -e 's|@STATEDIR@|$(STATEDIR)|g' $< >$@

$(BUILD)/system/cutover.1: etc/system/cutover.1.in scripts/manpage.sh $(BUILD)/system/cutover
	$(Q)scripts/manpage.sh $(BUILD)/system/cutover $< $(VERSION) $(SYSCONFDIR) $(STATEDIR) >$@

FORCE:

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libcutover.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS)

$(BUILD)/tests/test_conformance: $(BUILD)/tests/conformance/test_conformance.o $(BUILD)/libcutover.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(LDLIBS)

$(BUILD)/bare-server: tests/bench/bare_server.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(LDLIBS)

$(BUILD)/mongo-loop: tests/bench/mongo_loop.c
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(LDLIBS)

# The demo: the example schema, realistic data for two users, a token each.
DEMO_DB = $(BUILD)/demo/hisabpro.sqlite3
$(DEMO_DB): scripts/demo_data.py etc/examples/hisabpro/schema.sqlite.sql
	@mkdir -p $(dir $@)
	$(Q)python3 scripts/demo_data.py --schema etc/examples/hisabpro/schema.sqlite.sql --out $@

demo: $(DEMO_DB)

run: $(BUILD)/cutover $(DEMO_DB)
	$(Q)scripts/run_demo.sh $(BUILD)/cutover $(DEMO_DB)

# The demo with MongoDB beside it, and the whole cutover to walk.
run-mongo: $(BUILD)/cutover $(DEMO_DB)
	$(Q)scripts/run_mongo_demo.sh $(BUILD)/cutover $(DEMO_DB)

test-unit: $(UNIT_BIN) test-fuzz-replay
	$(Q)scripts/run_unit.sh $(UNIT_BIN)

# Fuzz targets (tests/fuzz/fuzz_*.c): their corpora replayed as ordinary
# tests, built with the project's compiler; `make fuzz` runs them under
# libFuzzer (clang) for as long as asked.
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAME = $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_BIN  = $(FUZZ_NAME:%=$(BUILD)/tests/replay_%)

$(BUILD)/tests/replay_%: $(BUILD)/tests/fuzz/fuzz_%.o $(BUILD)/tests/fuzz/replay.o $(BUILD)/libcutover.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

test-fuzz-replay: $(FUZZ_BIN)
	$(Q)for t in $(FUZZ_NAME); do echo "== fuzz corpus: $$t"; \
	  $(BUILD)/tests/replay_$$t tests/fuzz/corpus/$$t || exit 1; done

FUZZ_SECONDS ?= 60
fuzz:
	$(Q)scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_NAME)

# Part of make test: every target under libFuzzer, ASan and UBSan for a
# fixed number of executions from its seeds (a fixed seed, so a run repeats).
FUZZ_RUNS ?= 50000
test-fuzz:
	$(Q)scripts/fuzz.sh --runs $(FUZZ_RUNS) $(FUZZ_NAME)

test-conformance: $(BUILD)/tests/test_conformance $(BUILD)/cutover
	$(Q)python3 tests/conformance/run.py --binary $(BUILD)/tests/test_conformance

# Every contract suite is a goal of its own (test-contract-NAME, its time
# printed at the end), so that make -j runs them side by side; each starts
# its own servers on free ports.
CONTRACT = modes passthrough run security migrate observe agora hostile init profiles cli config_check \
           test_demo docs
CONTRACT_GOALS = $(CONTRACT:%=test-contract-%)

.PHONY: $(CONTRACT_GOALS) test-all
test-contract: $(CONTRACT_GOALS)

$(CONTRACT_GOALS): test-contract-%: $(BUILD)/cutover
	$(Q)t0=$$(date +%s); python3 tests/contract/$*.py --binary $(BUILD)/cutover; rc=$$?; \
	  echo "-- $*: $$(($$(date +%s) - t0)) s$$([ $$rc = 0 ] || echo ', FAILED')"; exit $$rc

# The migration at full size; not repeated under the sanitizers (the suites
# above cover the same code there).
test-big: $(BUILD)/cutover
	$(Q)python3 tests/contract/big.py --binary $(BUILD)/cutover

# The same suites under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" test-unit test-conformance test-contract

# The modules depend on each other without a cycle.
lint:
	$(Q)python3 scripts/include_cycles.py --self-test

# The build from the build dependencies alone, make install and the .deb
# (installed with dpkg, run, removed).
test-package: $(BUILD)/cutover
	$(Q)python3 tests/contract/package.py --binary $(BUILD)/cutover

# The quick tier, for every change (a minute or two): the include graph, the
# unit tests and fuzz corpora, the contract suite on SQLite, every
# configuration key, the docs.  TESTS=REGEX runs only the contract tests
# whose names match, in any suite.
check: lint test-unit $(BUILD)/cutover
	$(Q)python3 tests/contract/run.py --binary $(BUILD)/cutover --store sqlite
	$(Q)python3 tests/contract/config_check.py --binary $(BUILD)/cutover
	$(Q)python3 tests/contract/docs.py --binary $(BUILD)/cutover

# Everything, TEST_JOBS suites at a time (each suite's output printed whole
# when it ends): the sanitizer pass and the full-size migrations first,
# being the longest.
TEST_JOBS ?= 2
test:
	$(Q)t0=$$(date +%s); $(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target test-all; rc=$$?; \
	  echo "== make test: $$(($$(date +%s) - t0)) s$$([ $$rc = 0 ] || echo ', FAILED')"; exit $$rc

test-all: lint test-asan test-big test-unit test-fuzz test-conformance test-contract test-package

# Every figure of BENCHMARKS.md, three runs each (BENCH_RUNS), one table.
bench: $(BUILD)/cutover $(BUILD)/bare-server $(BUILD)/mongo-loop
	$(Q)python3 tests/bench/all.py $(BUILD)/cutover $(BUILD)/bare-server $(BUILD)/mongo-loop

SYSTEM_FILES = $(addprefix $(BUILD)/system/,cutover cutover.json cutover.service cutover.1)
install: $(SYSTEM_FILES)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSCONFDIR)/cutover $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR) $(DESTDIR)$(PREFIX)/share/cutover/examples/hisabpro
	install -d -m 0750 $(DESTDIR)$(STATEDIR)
	install -m 0755 $(BUILD)/system/cutover $(DESTDIR)$(PREFIX)/bin/cutover
	install -m 0644 $(BUILD)/system/cutover.json $(DESTDIR)$(SYSCONFDIR)/cutover/cutover.json
	install -m 0600 etc/system/cutover.env $(DESTDIR)$(SYSCONFDIR)/cutover/cutover.env
	install -m 0644 $(BUILD)/system/cutover.service $(DESTDIR)$(UNITDIR)/cutover.service
	install -m 0644 $(BUILD)/system/cutover.1 $(DESTDIR)$(MANDIR)/man1/cutover.1
	install -m 0644 README.md LICENSE CHANGELOG.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 etc/examples/hisabpro/* $(DESTDIR)$(PREFIX)/share/cutover/examples/hisabpro/

# The generated parts of docs/ (every key, every command's help).
docs: $(BUILD)/cutover
	$(Q)python3 scripts/docs.py $(BUILD)/cutover

# Everything the tests and demos need (Debian packages, with apt-get).
deps:
	@echo "deps: everything is installed"

# A Debian package of the same layout: $(BUILD)/cutover_VERSION_ARCH.deb.
deb:
	$(Q)scripts/deb.sh $(BUILD) $(VERSION)

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
