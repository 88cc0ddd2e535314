build2/src/shadow.o: src/shadow.c include/compare.h include/util.h \
 include/journal.h include/store.h include/arena.h include/config.h \
 include/json.h include/value.h include/resource.h include/request.h \
 include/control.h include/metrics.h include/pool.h include/shadow.h
include/compare.h:
include/util.h:
include/journal.h:
include/store.h:
include/arena.h:
include/config.h:
include/json.h:
include/value.h:
include/resource.h:
include/request.h:
include/control.h:
include/metrics.h:
include/pool.h:
include/shadow.h:
