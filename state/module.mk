# state: cluster state (drains, costs, steering records, observations) persisted in LMDB.
state_SRCS := state/codec.c state/store.c state/obs.c state/drain.c state/cost.c state/wire.c state/members.c state/view.c state/secret.c state/steer.c
