build2/src/health.o: src/health.c include/control.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/metrics.h include/store.h include/health.h include/shadow.h \
 include/pool.h include/request.h include/control.h
include/control.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/metrics.h:
include/store.h:
include/health.h:
include/shadow.h:
include/pool.h:
include/request.h:
include/control.h:
