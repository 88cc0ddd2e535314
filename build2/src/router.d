build2/src/router.o: src/router.c include/control.h include/config.h \
 include/arena.h include/json.h include/util.h include/value.h \
 include/metrics.h include/store.h include/dashboard.h include/resource.h \
 include/request.h include/control.h include/pool.h include/router.h \
 include/shadow.h
include/control.h:
include/config.h:
include/arena.h:
include/json.h:
include/util.h:
include/value.h:
include/metrics.h:
include/store.h:
include/dashboard.h:
include/resource.h:
include/request.h:
include/control.h:
include/pool.h:
include/router.h:
include/shadow.h:
