build2/src/proxy.o: src/proxy.c include/metrics.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/store.h include/http1.h include/json.h include/middleware.h \
 include/proxy.h include/request.h include/control.h include/metrics.h \
 include/pool.h include/resource.h include/request.h include/router.h
include/metrics.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/store.h:
include/http1.h:
include/json.h:
include/middleware.h:
include/proxy.h:
include/request.h:
include/control.h:
include/metrics.h:
include/pool.h:
include/resource.h:
include/request.h:
include/router.h:
