/*
 * model_private.h — what the resource model's files share (model.c: the
 * resources; model_field.c: their fields).  Not an interface.
 */
#ifndef CUTOVER_MODEL_PRIVATE_H
#define CUTOVER_MODEL_PRIVATE_H

#include "config.h"
#include "json.h"

/* Letters, digits and _, not starting with a digit: a column name SQL
 * takes as it is. */
bool model_ident_ok(const char *s);
/* "mongodb_decimal": how a decimal is kept in MongoDB. */
void model_want_decimal(struct config_loader *l, const struct json *v, enum mongo_decimal *out);
/* A string that must be a plain identifier (a table or column); NULL
 * after the problem is reported. */
const char *model_want_ident(struct config_loader *l, const struct json *v, const char *key);
/* " (did you mean …?)" for a key close to one of known, or "". */
const char *model_word_hint(struct config_loader *l, const char *name, const char *const *known,
                            size_t count);
/* "fields": the resource's fields, its primary key among them. */
void model_parse_fields(struct config_loader *l, struct resource *r, const struct json *v);

#endif
