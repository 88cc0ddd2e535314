build2/src/resource.o: src/resource.c include/drf.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/store.h include/http1.h include/json.h include/query.h \
 include/resource.h include/request.h include/control.h include/metrics.h \
 include/pool.h include/store.h
include/drf.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/store.h:
include/http1.h:
include/json.h:
include/query.h:
include/resource.h:
include/request.h:
include/control.h:
include/metrics.h:
include/pool.h:
include/store.h:
