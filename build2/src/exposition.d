build2/src/exposition.o: src/exposition.c include/control.h \
 include/config.h include/arena.h include/json.h include/util.h \
 include/value.h include/metrics.h include/store.h include/exposition.h \
 include/health.h include/journal.h include/metrics.h include/pool.h \
 include/proxy.h include/shadow.h include/pool.h include/request.h \
 include/control.h
include/control.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/metrics.h:
include/store.h:
include/exposition.h:
include/health.h:
include/journal.h:
include/metrics.h:
include/pool.h:
include/proxy.h:
include/shadow.h:
include/pool.h:
include/request.h:
include/control.h:
