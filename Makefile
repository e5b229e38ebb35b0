# chatd - read top to bottom:
#   make            build bin/chatd, bin/chat, bench/flood, bench/chaos and bench/yardstick
#   make run        build and start chatd --workers 4 on port 2020
#   make test       build and run the criterion suite (installs criterion if it can), then
#                   make test-service
#   make asan       the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make tsan       the suite under ThreadSanitizer
#   make test-browser  headless Chromium chats with a TCP user through the page
#   make test-ws    WebSocket conformance with an independent client (node, npm ws)
#   make test-tls   chatd behind a real nginx terminating TLS: headless Chromium over https/wss
#   make valgrind   the integration and parser suites under valgrind memcheck
#   make test-oom   every allocation of chatd made to fail in turn, under ASan + UBSan
#   make fuzz       libFuzzer targets for every parser of client bytes (FUZZ_SECONDS each,
#                   or FUZZ_BUDGET seconds in all)
#   make install    install chatd, chat, their man pages, an example chatd.conf and a systemd
#                   unit under PREFIX (default /usr/local), into DESTDIR if given
#   make uninstall  remove them again (the configuration file is left alone)
#   make test-service  make install into a temporary DESTDIR and check every file, the unit
#                   (systemd-analyze), the man pages (groff, man), JSON logs (python3)
#   make test-ii    Debian's ii IRC client chats with a line user through --irc-port (part
#                   of make test)
#   make test-weechat  WeeChat (weechat-headless) connects as the README says, chats with a
#                   line user, renames and quits (part of make test)
#   make format-check   clang-format check of src/, tests/, bench/
#   make check-headers  every header compiles on its own (it includes what it uses)
#   make check-layers  src/ is layered: its modules' include graph has no cycle
#   make lint       format-check, check-headers, check-layers, clang-tidy and cppcheck; any
#                   finding fails
#   make clean

SHELL := /bin/bash

ifeq ($(origin CC),default)
CC      := gcc
endif
PREFIX  ?= /usr/local
# Where make install puts things (docs/deploy.md, "Installing as a service"): the server in
# sbin (a daemon for administrators, section 8: Debian puts haproxy and nginx in /usr/sbin), the
# client in bin. The configuration goes to PREFIX/etc, or to /etc when PREFIX is /usr.
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR    ?= $(PREFIX)/lib/systemd/system
OPT     ?= -O2 -g
CFLAGS  ?=
# Every build flavour below (plain, asan, tsan, test-oom, fuzz, the bench tools) compiles with
# these warnings, and any warning fails the build: -Wshadow (a name hiding another),
# -Wmissing-prototypes (a function with external linkage whose header was not included or
# that should be static), -Wstrict-prototypes (an empty parameter list that is not (void)).
WARN    := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes
override CFLAGS := -std=gnu17 $(WARN) -pthread -D_GNU_SOURCE $(OPT) $(CFLAGS)
LDLIBS  += -pthread -lm

SRC      := $(filter-out src/main.c src/chat.c,$(wildcard src/*.c))
TESTS    := $(wildcard tests/test_*.c)
TEST_LIB := tests/testlib.c tests/stress.c

# Build flavours: plain, asan, tsan. Each has its own object directory.
B        := build/plain
SAN      :=

.PHONY: all run test asan tsan install uninstall test-service test-ii test-weechat clean format-check deps-test run-tests run-tsan fuzz valgrind test-ws test-browser
.PHONY: test-tls
.PHONY: chatd-plain
.PHONY: test-oom
.PHONY: lint lint-tidy lint-cppcheck deps-lint check-headers check-layers deps-fuzz
all: bin/chatd bin/chat bench/flood bench/chaos bench/yardstick

# Header dependencies: every compile writes the list of headers it read, directly or not, into
# a .d file beside its object (-MMD; -MP keeps a deleted header from breaking the build), and
# the lists are read back at the end of this file. So an object is rebuilt when a header it
# includes changes, and only then. A program compiled and linked in one step (bin/chat, the
# bench tools) writes its list into build/deps/ instead (DEPS_OF).
DEPFLAGS := -MMD -MP
DEPS_OF   = -MMD -MP -MT $@ -MF build/deps/$(notdir $@).d

build/deps:
	mkdir -p $@

define objs
$(patsubst src/%.c,$(1)/src/%.o,$(SRC)) $(1)/assets.o
endef

# The chat page (web/) is embedded into the binary at build time.
WEB_FILES := web/index.html web/style.css web/app.js
build/assets.c: $(WEB_FILES) scripts/embed.sh
	@mkdir -p build
	sh scripts/embed.sh $@ $(WEB_FILES)

$(B)/assets.o: build/assets.c | $(B)/src
	$(CC) $(CFLAGS) $(SAN) $(DEPFLAGS) -Isrc -c $< -o $@

$(B)/src/%.o: src/%.c | $(B)/src
	$(CC) $(CFLAGS) $(SAN) $(DEPFLAGS) -c $< -o $@

$(B)/src $(B)/tests:
	mkdir -p $@

bin/chatd: $(call objs,$(B)) $(B)/src/main.o | bin
	$(CC) $(CFLAGS) $(SAN) $^ -o $@ $(LDLIBS)

bin/chat: src/chat.c | bin build/deps
	$(CC) $(CFLAGS) $(DEPS_OF) $< -o $@ $(LDLIBS)

bench/flood: bench/flood.c | build/deps
	$(CC) $(CFLAGS) $(DEPS_OF) $< -o $@ $(LDLIBS)

bench/chaos: bench/chaos.c | build/deps
	$(CC) $(CFLAGS) $(DEPS_OF) $< -o $@ $(LDLIBS)

# The bare fan-out loop that scripts/bench.sh measures next to chatd (the machine's ceiling).
bench/yardstick: bench/yardstick.c | build/deps
	$(CC) $(CFLAGS) $(DEPS_OF) $< -o $@ $(LDLIBS)

bin:
	mkdir -p $@

run: bin/chatd
	./bin/chatd --workers 4 --port 2020

# ---- tests -------------------------------------------------------------------------------
# The suite is one criterion binary per flavour; integration tests start servers in-process
# on ephemeral ports, so no fixed port is ever used.
TEST_BIN  = $(B)/test_chatd
TEST_OBJS = $(patsubst tests/%.c,$(B)/tests/%.o,$(TESTS) $(TEST_LIB))

# criterion, and redis-server for the suites that test against a real Redis (resp_redis/*);
# haproxy for the PROXY protocol suite (haproxy/*), which skips itself without it when not root.
deps-test:
	@sh scripts/install-deps.sh criterion redis
	@sh scripts/install-deps.sh haproxy || echo "make: haproxy missing: the haproxy/* tests will be skipped"

$(B)/tests/%.o: tests/%.c | $(B)/tests
	$(CC) $(CFLAGS) $(SAN) $(DEPFLAGS) -Isrc -c $< -o $@

$(TEST_OBJS): | deps-test

$(TEST_BIN): $(call objs,$(B)) $(TEST_OBJS)
	$(CC) $(CFLAGS) $(SAN) $^ -o $@ -lcriterion $(LDLIBS)

test: all
	$(MAKE) --no-print-directory run-tests B=build/plain
	$(MAKE) --no-print-directory test-service
	$(MAKE) --no-print-directory test-ii
	$(MAKE) --no-print-directory test-weechat

run-tests: $(TEST_BIN) bin/chat chatd-plain
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp $(TEST_BIN) --timeout 60 $(TEST_ARGS)

# The suite also starts bin/chatd itself (admin/sigterm_*): always the plain build, whatever
# the suite's flavour (make valgrind traces children, and could not run an ASan chatd).
chatd-plain:
	@$(MAKE) --no-print-directory bin/chatd B=build/plain SAN= OPT="-O2 -g"

# Criterion reports a test as passed even when LeakSanitizer finds a leak in its process at
# exit, so the sanitizer reports are also looked for in the output: any one fails the run.
asan:
	@set -o pipefail; $(MAKE) --no-print-directory run-tests B=build/asan \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		OPT="-O1 -g" 2>&1 | tee build/asan.log
	@if grep -qE "ERROR: (Leak|Address)Sanitizer|runtime error:" build/asan.log; then \
		echo "asan: sanitizer reports above"; exit 1; fi

# Criterion's runner cannot start under ThreadSanitizer (Snaipe/Criterion#274), so the
# concurrency scenarios of tests/stress.c run from a plain driver built with TSan.
tsan:
	$(MAKE) --no-print-directory run-tsan B=build/tsan SAN="-fsanitize=thread" OPT="-O1 -g"

$(B)/tsan_stress: $(call objs,$(B)) $(B)/tests/stress.o $(B)/tests/tsan_main.o
	$(CC) $(CFLAGS) $(SAN) $^ -o $@ $(LDLIBS)

run-tsan: $(B)/tsan_stress
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" $(B)/tsan_stress

# ---- allocation failures (make test-oom) ------------------------------------------------------
# The product objects, built with ASan + UBSan into build/oom/, get their calls to malloc,
# calloc, realloc and aligned_alloc renamed to oom_* (objcopy --redefine-sym); tests/oom/
# defines those, so only chatd's own allocations can be made to fail (never the driver's,
# libc's or the sanitizers'). The driver records every allocation path of an integration
# scenario, then reruns the scenario once per path with one call failing (tests/oom/oom_main.c).
# Any other allocation function the objects import fails the build: it would go unchecked.
OOM_B      := build/oom
OOM_CFLAGS := -std=gnu17 $(WARN) -pthread -D_GNU_SOURCE -O1 -g \
	-fno-omit-frame-pointer -fno-optimize-sibling-calls \
	-fsanitize=address,undefined -fno-sanitize-recover=all
OOM_ALLOCS := malloc calloc realloc aligned_alloc
OOM_NOT    := malloc|calloc|realloc|aligned_alloc|strdup|strndup|posix_memalign|memalign|valloc|pvalloc|reallocarray|asprintf|vasprintf|getline|getdelim|open_memstream
OOM_OBJS   := $(patsubst src/%.c,$(OOM_B)/src/%.o,$(SRC)) $(OOM_B)/assets.o
OOM_DRIVER := $(patsubst tests/oom/%.c,$(OOM_B)/tests/oom/%.o,$(wildcard tests/oom/*.c))

$(OOM_B)/src/%.o: src/%.c | $(OOM_B)/src
	$(CC) $(OOM_CFLAGS) $(DEPFLAGS) -MT $@ -MF $(@:.o=.d) -c $< -o $@.raw
	objcopy $(foreach f,$(OOM_ALLOCS),--redefine-sym $(f)=oom_$(f)) $@.raw $@

$(OOM_B)/assets.o: build/assets.c | $(OOM_B)/src
	$(CC) $(OOM_CFLAGS) $(DEPFLAGS) -Isrc -c $< -o $@

# The driver's own objects keep the real allocator.
$(OOM_B)/tests/oom/%.o: tests/oom/%.c | $(OOM_B)/tests/oom
	$(CC) $(OOM_CFLAGS) $(DEPFLAGS) -Isrc -c $< -o $@

$(OOM_B)/src $(OOM_B)/tests/oom:
	mkdir -p $@

$(OOM_B)/oom_test: $(OOM_OBJS) $(OOM_DRIVER)
	@if nm -u $(OOM_OBJS) | grep -wE '$(OOM_NOT)'; then \
		echo "test-oom: the objects above call an allocator that is not intercepted"; \
		exit 1; fi
	$(CC) $(OOM_CFLAGS) -no-pie $^ -o $@ $(LDLIBS)

test-oom: $(OOM_B)/oom_test
	$(OOM_B)/oom_test -j 2 -l $(OOM_B)/logs

# ---- independent WebSocket client (node + the npm ws package) -------------------------------
test-ws: bin/chatd
	cd tests/node && npm install --no-audit --no-fund --no-package-lock --loglevel=error
	node --test tests/node/ws.test.mjs tests/node/feed.test.mjs tests/node/irc.test.mjs

# A real browser: Debian's chromium driven by playwright-core; screenshot in tests/node/out/.
test-browser: bin/chatd
	@test -x /usr/bin/chromium || { echo "test-browser: needs chromium (apt-get install -y chromium)"; exit 1; }
	cd tests/node && npm install --no-audit --no-fund --no-package-lock --loglevel=error
	node --test tests/node/browser.test.mjs

# chatd behind Debian's nginx terminating TLS (self-signed certificate made by openssl), the
# page and wss:// in headless Chromium (docs/deploy.md). nginx runs from a temporary directory
# on a free loopback port, never as the system's service. As root, nginx is installed when
# missing; otherwise the test skips and says how to install it.
test-tls: bin/chatd
	@test -x /usr/bin/chromium || { echo "test-tls: needs chromium (apt-get install -y chromium)"; exit 1; }
	@if [ "$$(id -u)" = 0 ]; then sh scripts/install-deps.sh nginx openssl; fi
	cd tests/node && npm install --no-audit --no-fund --no-package-lock --loglevel=error
	node --test tests/node/tls.test.mjs

# ---- valgrind -----------------------------------------------------------------------------
# The integration and parser suites under memcheck (criterion's test processes included).
# The EMFILE tests are left out: they lower the fd limit and bound CPU time, which valgrind's
# own descriptors and slowness break; they run under make test and make asan. The redis-server
# the resp_redis tests start, and the haproxy the haproxy tests start, are not traced (they are
# not ours).
VALGRIND_SUITES := "server/[!e]*" "chat/*" "admin/[!e]*" "web/*" "framer/*" "http/*" "ws/*" "command/*" \
	"validate/*" "wording/*" "directory/*" "iplimit/*" "conn/*" "room/*" "map/*" "timer/*" \
	"base64/*" "names/*" "resp/*" "resp_redis/*" "sha256/*" "hmac/*" "base64url/*" "json/*" "jwt/*" \
	"log/*" "notify/*" "irc/*" "ircd/*" \
	"proxy/*" "xff/*" "cidr/*" "via/*" "haproxy/*" \
	"config_file/*" "reload/*" "reload_apply/*" "reload_hooks/*" "live/*"
valgrind: $(TEST_BIN) bin/chat chatd-plain
	@for s in $(VALGRIND_SUITES); do \
		echo "== valgrind $$s"; \
		valgrind --trace-children=yes --trace-children-skip='*/redis-server,*/haproxy' --vgdb=no --error-exitcode=9 --leak-check=full \
			--errors-for-leak-kinds=definite -q $(TEST_BIN) --filter "$$s" \
			--timeout 300 2>&1 | tee build/valgrind.log | grep -E "Synthesis|==[0-9]+==" ; \
		test $${PIPESTATUS[0]} -eq 0 || exit 1; \
		! grep -qE "ERROR SUMMARY: [1-9]|definitely lost: [1-9]" build/valgrind.log || exit 1; \
	done

# ---- fuzzing (libFuzzer, clang, ASan + UBSan) ----------------------------------------------
# make fuzz [FUZZ_SECONDS=60]: every target for FUZZ_SECONDS seconds, seeded from
# tests/fuzz/corpus/<target>/ with tests/fuzz/<target>.dict; a crash leaves its input in
# build/fuzz/ and fails the run. make fuzz FUZZ_BUDGET=N instead gives the whole run N seconds,
# split evenly over the targets (CI does: a new target then costs the others time, not CI).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := line http ws resp jwt json feed proxy irc
ifdef FUZZ_BUDGET
FUZZ_SECONDS := $(shell expr $(FUZZ_BUDGET) / $(words $(FUZZ_TARGETS)))
endif
FUZZ_SRC_line := src/proto.c src/command.c
FUZZ_SRC_http := src/http.c src/base64.c src/sha1.c
FUZZ_SRC_ws   := src/ws.c src/proto.c src/command.c
FUZZ_SRC_resp := src/resp.c
FUZZ_SRC_jwt  := src/jwt.c src/json.c src/base64url.c src/hmac.c src/sha256.c src/proto.c
FUZZ_SRC_json := src/json.c src/proto.c
FUZZ_SRC_feed := src/feed.c src/jsonw.c src/json.c src/proto.c
FUZZ_SRC_proxy := src/proxy.c src/cidr.c
FUZZ_SRC_irc  := src/irc.c src/proto.c src/command.c
FUZZ_FLAGS := -std=gnu17 $(WARN) -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -Isrc

fuzz_objs = $(patsubst %.c,build/fuzz/%.o,tests/fuzz/fuzz_$(1).c $(FUZZ_SRC_$(1)))

deps-fuzz:
	@sh scripts/install-deps.sh fuzzer

build/fuzz/%.o: %.c | deps-fuzz
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) $(DEPFLAGS) -c $< -o $@

build/fuzz/fuzz_line: $(call fuzz_objs,line)
build/fuzz/fuzz_http: $(call fuzz_objs,http)
build/fuzz/fuzz_ws: $(call fuzz_objs,ws)
build/fuzz/fuzz_resp: $(call fuzz_objs,resp)
build/fuzz/fuzz_jwt: $(call fuzz_objs,jwt)
build/fuzz/fuzz_json: $(call fuzz_objs,json)
build/fuzz/fuzz_feed: $(call fuzz_objs,feed)
build/fuzz/fuzz_proxy: $(call fuzz_objs,proxy)
build/fuzz/fuzz_irc: $(call fuzz_objs,irc)
build/fuzz/fuzz_%:
	clang $(FUZZ_FLAGS) $^ -o $@

fuzz: $(addprefix build/fuzz/fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/corpus_$$t; \
		echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
		build/fuzz/fuzz_$$t build/fuzz/corpus_$$t tests/fuzz/corpus/$$t \
			-dict=tests/fuzz/$$t.dict -max_total_time=$(FUZZ_SECONDS) \
			-artifact_prefix=build/fuzz/$$t- -print_final_stats=1 2>&1 | \
			grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)" ; \
		test $${PIPESTATUS[0]} -eq 0 || { echo "fuzz $$t: crash, input in build/fuzz/"; exit 1; }; \
	done

# ---- installing ------------------------------------------------------------------------------
# The unit is written from dist/chatd.service.in with the paths filled in. An existing
# chatd.conf is kept (an operator's edits survive a reinstall); the example is then not copied.
install: bin/chatd bin/chat
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SYSCONFDIR)/chatd $(DESTDIR)$(UNITDIR)
	install -m 755 bin/chatd $(DESTDIR)$(SBINDIR)/chatd
	install -m 755 bin/chat $(DESTDIR)$(BINDIR)/chat
	install -m 644 man/chatd.8 $(DESTDIR)$(MANDIR)/man8/chatd.8
	install -m 644 man/chat.1 $(DESTDIR)$(MANDIR)/man1/chat.1
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/chatd/chatd.conf ]; then \
		echo "install: $(DESTDIR)$(SYSCONFDIR)/chatd/chatd.conf exists: kept"; \
	else \
		echo "install -m 644 dist/chatd.conf $(DESTDIR)$(SYSCONFDIR)/chatd/chatd.conf"; \
		install -m 644 dist/chatd.conf $(DESTDIR)$(SYSCONFDIR)/chatd/chatd.conf; \
	fi
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		dist/chatd.service.in > $(DESTDIR)$(UNITDIR)/chatd.service.tmp
	chmod 644 $(DESTDIR)$(UNITDIR)/chatd.service.tmp
	mv $(DESTDIR)$(UNITDIR)/chatd.service.tmp $(DESTDIR)$(UNITDIR)/chatd.service

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/chatd $(DESTDIR)$(BINDIR)/chat \
		$(DESTDIR)$(MANDIR)/man8/chatd.8 $(DESTDIR)$(MANDIR)/man1/chat.1 \
		$(DESTDIR)$(UNITDIR)/chatd.service

test-service: bin/chatd bin/chat
	MAKE="$(MAKE)" bash tests/service.sh

# Debian's ii (a FIFO and file IRC client) in chatd's rooms with a line user (tests/ii.sh).
test-ii: bin/chatd
	bash tests/ii.sh

# WeeChat, driven through its FIFO and read through its logs, in chatd's rooms (tests/weechat.sh).
test-weechat: bin/chatd
	bash tests/weechat.sh

format-check:
	clang-format --dry-run -Werror src/*.c src/*.h tests/*.c tests/*.h tests/oom/*.c tests/oom/*.h \
		tests/fuzz/*.c tests/fuzz/*.h $(wildcard bench/*.c bench/*.h)

# Every header compiles on its own, with the flags of the build: it includes what it uses, so
# no .c file has to include something else first. All failing headers are listed.
# (-Wno-unused-function: a header of static helpers, such as tests/fuzz/fuzz_output.h, has
# no caller when compiled alone; clang would say so.)
HEADERS := $(wildcard src/*.h tests/*.h tests/oom/*.h tests/fuzz/*.h bench/*.h)
check-headers: deps-test
	@bad=0; for h in $(HEADERS); do \
		echo "#include \"$$h\"" | \
			$(CC) $(CFLAGS) -Wno-unused-function -Isrc -Itests -fsyntax-only -x c - || \
			{ echo "check-headers: $$h does not compile on its own"; bad=1; }; \
	done; test $$bad = 0
	@echo "check-headers: $(words $(HEADERS)) headers compile on their own"

# ---- static analysis -------------------------------------------------------------------------
# make lint: format-check, clang-tidy and cppcheck over every C source but the generated
# build/assets.c; any finding fails. clang-tidy reads .clang-tidy (tests/ and bench/ turn a
# few checks off in their own .clang-tidy, each with its reason); one file per process, LINT_JOBS
# at a time. cppcheck runs the warning, performance, portability and style groups; left out
# are information (it reports that system headers are not read, which is deliberate) and
# unusedFunction (needs the whole program in one configuration; criterion's tests are only
# reached through its runner). cppcheck suppressions are inline, each with its reason; there is
# no suppressions file.
# tests/ first: the analyzer spends longest on tests/test_ws.c, so it should start early.
LINT_SRC  := $(wildcard tests/*.c tests/fuzz/*.c tests/oom/*.c) $(wildcard src/*.c) $(wildcard bench/*.c)
LINT_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
TIDY_FLAGS := -std=gnu17 $(filter-out -Werror,$(WARN)) -pthread -D_GNU_SOURCE -Isrc -Itests
CPPCHECK_FLAGS := --enable=warning,performance,portability,style --error-exitcode=1 \
	--inline-suppr -q --std=c11 -D_GNU_SOURCE -Isrc -Itests \
	--library=tests/cppcheck-criterion.cfg

deps-lint:
	@sh scripts/install-deps.sh criterion lint

# Each module uses only modules below it (docs/ARCHITECTURE.md, "Layers").
check-layers:
	@python3 scripts/layers.py

lint: deps-lint format-check check-headers check-layers lint-tidy lint-cppcheck
	@echo "lint: no findings"

# clang-tidy's "N warnings generated." lines only count what it filtered out (system headers,
# checks that are off), so they are dropped; a finding makes xargs, and so make, fail.
lint-tidy: deps-lint
	@echo "clang-tidy: $(words $(LINT_SRC)) files, $(LINT_JOBS) at a time"
	@printf '%s\n' $(LINT_SRC) | xargs -n 1 -P $(LINT_JOBS) bash -c 'set -o pipefail; \
		clang-tidy --quiet "$$1" -- $(TIDY_FLAGS) 2>&1 | sed "/warnings\{0,1\} generated\.$$/d"' _

lint-cppcheck: deps-lint
	cppcheck $(CPPCHECK_FLAGS) $(LINT_SRC)

clean:
	rm -rf build bin bench/flood bench/chaos bench/yardstick

# The header lists of every flavour's objects (see DEPFLAGS above); absent before a first build.
-include $(wildcard build/*/*.d build/*/*/*.d build/*/*/*/*.d)
