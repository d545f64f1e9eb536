# Fuzz targets replayed with the regular compiler: $(B)/fuzz/replay_<target>
# runs LLVMFuzzerTestOneInput over every file of the corpus directories given
# on its command line (e.g. tests/fuzz/corpus/query). scripts/fuzz.sh builds
# the same sources with libFuzzer.
FUZZ_QUERY_SRCS := tests/fuzz/replay.c tests/fuzz/fuzz_query.c tests/dnsd/fixture.c
$(B)/fuzz/replay_query: $(call obj,$(FUZZ_QUERY_SRCS)) $(LIBS)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(call obj,$(FUZZ_QUERY_SRCS)) $(LIBS) $(PKG_LIBS)
ALL_OBJS += $(call obj,$(FUZZ_QUERY_SRCS))
TEST_EXTRA += $(B)/fuzz/replay_query
