# The simulation test links the simulator (sim.c) besides its own object.
GSP_SIM := $(B)/obj/tests/gossip/sim.o
$(B)/tests/gossip/test_sim: $(GSP_SIM)
$(B)/tests/gossip/test_sim: LDFLAGS += $(GSP_SIM)
ALL_OBJS += $(GSP_SIM)
$(B)/tests/gossip/test_replicate: $(GSP_SIM)
$(B)/tests/gossip/test_replicate: LDFLAGS += $(GSP_SIM)
$(B)/tests/gossip/test_keyop: $(GSP_SIM)
$(B)/tests/gossip/test_keyop: LDFLAGS += $(GSP_SIM)
