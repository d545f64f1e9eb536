PROGRAMS += ayad
ayad_SRCS := daemon/main.c daemon/reload.c daemon/ctl.c daemon/store.c daemon/rebuild.c daemon/probes.c daemon/gossip.c daemon/steer.c daemon/notify.c \
	daemon/metrics.c daemon/events.c daemon/status.c daemon/http.c daemon/privs.c daemon/systemd.c daemon/upgrade.c daemon/dnssec.c \
	daemon/takeover.c

# The status page, built into ayad as a C string (daemon/status.c).
ayad_SRCS += $(B)/gen/status_html.c
$(B)/gen/status_html.c: daemon/status.html daemon/module.mk
	@mkdir -p $(@D)
	$(call say,GEN,$@)
	$(Q){ echo '/* Generated from daemon/status.html by daemon/module.mk. */'; \
	      echo 'extern const char ayad_status_html[];'; \
	      echo 'const char ayad_status_html[] ='; \
	      sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	      echo ';'; } > $@.tmp && mv $@.tmp $@
$(B)/obj/gen/%.o: $(B)/gen/%.c | $(B)/config.mk
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<
