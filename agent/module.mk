# agent: health, latency and load probes of the backends (libevent + OpenSSL).
agent_SRCS := agent/agent.c agent/targets.c agent/probe.c agent/http.c agent/load.c \
	agent/logic.c
