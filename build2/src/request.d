build2/src/request.o: src/request.c include/control.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/metrics.h include/store.h include/json.h include/metrics.h \
 include/middleware.h include/request.h include/control.h include/pool.h
include/control.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/metrics.h:
include/store.h:
include/json.h:
include/metrics.h:
include/middleware.h:
include/request.h:
include/control.h:
include/pool.h:
