# criu-lite — build, tests, demo, benchmark and fuzzing.
#
#   make          build the tool (build/criu-lite)
#   make test     build everything and run every test; ends with "N passed, N failed"
#   make demo     dump and restore a forked tree that shares memory, and show it
#   make bench    dump/restore throughput beside a memcpy baseline
#   make fuzz     run the image-reader fuzz target for a while (FUZZ_SECONDS)
#
# Every target first makes sure the Debian packages it needs are installed
# (scripts/deps.sh); as root on a fresh Debian 12 machine nothing has to be
# installed by hand.

BUILD      := build
CC         ?= gcc
OPT        ?= -O2
CFLAGS     ?= $(OPT) -g
CFLAGS     += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
              -fno-strict-aliasing -D_GNU_SOURCE -MMD -MP
CPPFLAGS   += -Ilib/include -I$(BUILD)/proto -Icriu-lite
PKGS       := libprotobuf-c libnl-3.0 json-c
PKG_CFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

PROTOS     := $(wildcard proto/*.proto)
PB_C       := $(patsubst proto/%.proto,$(BUILD)/proto/%.pb-c.c,$(PROTOS))
PB_H       := $(PB_C:.c=.h)
PB_O       := $(PB_C:.c=.o)

LIB_SRC    := $(wildcard lib/*.c)
LIB_O      := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRC))
LIB_A      := $(BUILD)/libcrl.a

TOOL_SRC   := $(wildcard criu-lite/*.c criu-lite/*/*.c)
TOOL_O     := $(patsubst %.c,$(BUILD)/obj/%.o,$(TOOL_SRC))
TOOL       := $(BUILD)/criu-lite

UNIT_SRC   := $(wildcard test/unit/*.c)
UNIT_BIN   := $(patsubst test/unit/%.c,$(BUILD)/test/unit/%,$(UNIT_SRC))
VICTIM_SRC := $(wildcard test/victims/*.c)
VICTIM_BIN := $(patsubst test/victims/%.c,$(BUILD)/test/victims/%,$(filter-out test/victims/victim-lib.c,$(VICTIM_SRC)))

TOOLS_SRC  := $(wildcard test/tools/*.c)
TOOLS_BIN  := $(patsubst test/tools/%.c,$(BUILD)/test/tools/%,$(TOOLS_SRC))

FUZZ_SRC   := $(wildcard test/fuzz/*.c)
FUZZ_BIN   := $(patsubst test/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 60

.PHONY: all test unit integration demo bench fuzz clean deps deps-test deps-fuzz tests-build
.DELETE_ON_ERROR:
.SECONDARY: $(PB_C) $(PB_H)

all: $(TOOL)

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test
deps-fuzz:
	@scripts/deps.sh fuzz

# --- generated protobuf-c code -------------------------------------------
$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: proto/%.proto | deps
	@mkdir -p $(BUILD)/proto
	protoc-c --proto_path=proto --c_out=$(BUILD)/proto $<

$(BUILD)/proto/%.pb-c.o: $(BUILD)/proto/%.pb-c.c $(PB_H)
	$(CC) $(CFLAGS) -Wno-unused $(CPPFLAGS) $(PKG_CFLAGS) -c -o $@ $<

# --- library and tool ----------------------------------------------------
$(BUILD)/obj/%.o: %.c $(PB_H) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(LIB_A): $(LIB_O) $(PB_O)
	@rm -f $@
	ar rcs $@ $^

$(TOOL): $(TOOL_O) $(LIB_A)
	$(CC) $(CFLAGS) -o $@ $(TOOL_O) $(LIB_A) $(PKG_LIBS)

# --- tests ---------------------------------------------------------------
$(BUILD)/test/unit/%: test/unit/%.c $(LIB_A) | deps-test
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -DFIXTURES='"test/unit/fixtures"' -o $@ $< $(LIB_A) $(PKG_LIBS) -lcmocka

# Victims are plain programs: they link only the small shared helper.
$(BUILD)/test/victims/%: test/victims/%.c test/victims/victim-lib.c $(wildcard test/victims/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 -o $@ $< test/victims/victim-lib.c

# Test tools expose internals of the library to the shell tests.
$(BUILD)/test/tools/%: test/tools/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -o $@ $< $(LIB_A) $(PKG_LIBS)

tests-build: $(TOOL) $(UNIT_BIN) $(VICTIM_BIN) $(TOOLS_BIN)

test: deps-test tests-build
	CRL_BUILD=$(BUILD) test/run

unit: deps-test tests-build
	CRL_BUILD=$(BUILD) test/run --unit

integration: deps-test tests-build
	CRL_BUILD=$(BUILD) test/run --integration

demo: $(TOOL) $(BUILD)/test/victims/demo-counter
	CRL_BUILD=$(BUILD) scripts/demo.sh

bench: $(TOOL) $(BUILD)/test/victims/bench-mem
	CRL_BUILD=$(BUILD) scripts/bench.sh

# --- fuzzing (clang + libFuzzer) -----------------------------------------
$(BUILD)/fuzz/%: test/fuzz/%.c $(LIB_SRC) $(PB_C) | deps-fuzz
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE $(CPPFLAGS) \
		$(PKG_CFLAGS) -o $@ $< $(LIB_SRC) $(PB_C) $(PKG_LIBS)

fuzz: $(FUZZ_BIN)
	CRL_BUILD=$(BUILD) scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
