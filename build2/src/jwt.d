build2/src/jwt.o: src/jwt.c include/json.h include/arena.h include/util.h \
 include/jwt.h
include/json.h:
include/arena.h:
include/util.h:
include/jwt.h:
