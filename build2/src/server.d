build2/src/server.o: src/server.c include/admin.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/request.h include/control.h include/metrics.h include/store.h \
 include/pool.h include/control.h include/health.h include/journal.h \
 include/metrics.h include/middleware.h include/proxy.h include/request.h \
 include/resource.h include/router.h include/server.h include/shadow.h \
 include/store.h
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
include/health.h:
include/journal.h:
include/metrics.h:
include/middleware.h:
include/proxy.h:
include/request.h:
include/resource.h:
include/router.h:
include/server.h:
include/shadow.h:
include/store.h:
