PROGRAMS += ayad
ayad_SRCS := daemon/main.c
