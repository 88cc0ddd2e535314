build2/src/admin.o: src/admin.c include/admin.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/request.h include/control.h include/metrics.h include/store.h \
 include/pool.h include/control.h include/dashboard.h \
 include/exposition.h include/health.h include/journal.h include/json.h \
 include/proxy.h include/query.h
include/admin.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/request.h:
include/control.h:
include/metrics.h:
include/store.h:
include/pool.h:
include/control.h:
include/dashboard.h:
include/exposition.h:
include/health.h:
include/journal.h:
include/json.h:
include/proxy.h:
include/query.h:
