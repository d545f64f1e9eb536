# The steering test links the simulation (steer_sim.c) besides its own object.
STEER_SIM := $(B)/obj/tests/policy/steer_sim.o
$(B)/tests/policy/test_steer: $(STEER_SIM)
$(B)/tests/policy/test_steer: LDFLAGS += $(STEER_SIM)
ALL_OBJS += $(STEER_SIM)
