# berth build. `make` builds build/berth; `make check` runs every test
# (unit tests and corpus replay under AddressSanitizer and
# UndefinedBehaviorSanitizer, then integration tests against a real Docker
# Engine; see tests/integration/run.sh for how the engine is found).

CC ?= cc
PKGS := libcurl jansson sqlite3 libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARNINGS := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wvla -Wno-unused-parameter
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Isrc/lib $(WARNINGS) $(PKG_CFLAGS)
CFLAGS ?= -O2 -g
LDLIBS := $(PKG_LIBS) -lpthread -lm

SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_CFLAGS := -O1 -g $(SANITIZE)

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
VERSION_FLAGS := -DBERTH_VERSION='"$(VERSION)"' -DBERTH_GIT_REV='"$(GIT_REV)"'

LIB_SRCS := $(sort $(wildcard src/lib/*/*.c))
CMD_SRCS := $(sort $(wildcard src/cmd/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
TEST_SUPPORT_SRCS := $(sort $(wildcard tests/lib/*.c))

LIB_OBJS := $(LIB_SRCS:%.c=build/obj/%.o)
CMD_OBJS := $(CMD_SRCS:%.c=build/obj/%.o)
ASAN_LIB_OBJS := $(LIB_SRCS:%.c=build/asan/obj/%.o)
ASAN_CMD_OBJS := $(CMD_SRCS:%.c=build/asan/obj/%.o)
ASAN_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=build/asan/obj/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=build/asan/tests/%)

.PHONY: all check unit integration fuzz fuzz-replay clean format format-check lint

# Keep the test objects make would treat as intermediate: deleting them
# costs a rebuild and prints after the test summary.
.SECONDARY:

all: build/berth

build/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(CFLAGS) $(VERSION_FLAGS) -MMD -MP -c $< -o $@

build/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) $(ASAN_CFLAGS) $(VERSION_FLAGS) -Itests/lib -MMD -MP -c $< -o $@

build/libberth.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

build/asan/libberth.a: $(ASAN_LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

build/berth: $(CMD_OBJS) build/libberth.a
	$(CC) $(CFLAGS) -o $@ $(CMD_OBJS) build/libberth.a $(LDLIBS)

build/asan/berth: $(ASAN_CMD_OBJS) build/asan/libberth.a
	$(CC) $(ASAN_CFLAGS) -o $@ $(ASAN_CMD_OBJS) build/asan/libberth.a $(LDLIBS)

build/asan/tests/%: build/asan/obj/tests/unit/%.o $(ASAN_SUPPORT_OBJS) build/asan/libberth.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -o $@ $< $(ASAN_SUPPORT_OBJS) build/asan/libberth.a $(LDLIBS) -lcmocka

# Replays the fuzz corpus through the same entry point the fuzzer uses.
build/asan/tests/fuzz_hcl_replay: build/asan/obj/tests/fuzz/fuzz_hcl.o build/asan/obj/tests/fuzz/replay.o build/asan/libberth.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(LDLIBS)

unit: $(UNIT_BINS)
	@tests/run-unit.sh $(UNIT_BINS)

fuzz-replay: build/asan/tests/fuzz_hcl_replay
	build/asan/tests/fuzz_hcl_replay tests/fuzz/corpus/hcl

integration: build/berth build/asan/berth build/asan/tests/test_docker_engine build/asan/tests/test_agent_engine
	tests/integration/run.sh

check: unit fuzz-replay integration

# libFuzzer build (clang); run with: build/fuzz/fuzz_hcl tests/fuzz/corpus/hcl
fuzz: $(LIB_SRCS) tests/fuzz/fuzz_hcl.c
	@mkdir -p build/fuzz
	clang $(BASE_CFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined \
	  -o build/fuzz/fuzz_hcl tests/fuzz/fuzz_hcl.c $(LIB_SRCS) $(LDLIBS)

format:
	clang-format -i $(LIB_SRCS) $(CMD_SRCS) $(wildcard src/lib/*/*.h) $(UNIT_SRCS)

format-check:
	clang-format --dry-run --Werror $(LIB_SRCS) $(CMD_SRCS) $(wildcard src/lib/*/*.h)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
