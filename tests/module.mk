# Every tests/<mod>/test_*.c is a cmocka unit test binary.
TESTS += $(sort $(wildcard tests/*/test_*.c))
include tests/bench/module.mk
include tests/dnsd/module.mk tests/fuzz/module.mk
include tests/gossip/module.mk tests/policy/module.mk
