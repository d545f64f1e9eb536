# The daemon is a program, not a library: its tests link the daemon objects
# they test besides their own (health.c is pure aggregation over state/).
DAEMON_HEALTH := $(B)/obj/daemon/health.o
$(B)/tests/daemon/test_health: $(DAEMON_HEALTH)
$(B)/tests/daemon/test_health: LDFLAGS += $(DAEMON_HEALTH)
