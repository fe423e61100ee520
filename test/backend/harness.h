/* harness.h — the table of compiled networks the back-end harness checks.
 * gen_networks.py writes the table (one entry per .nn file compiled with `nnc -c`); the
 * harness parses each .nn again with the front-end library to run the reference interpreter. */
#ifndef NNC_TEST_HARNESS_H
#define NNC_TEST_HARNESS_H

#include <nnc/model.h>

typedef struct BackendCase {
  const char *name;
  const char *path;         /* the .nn file the object was compiled from */
  const nnc_model *model;   /* NAME_model of the generated object */
} BackendCase;

extern const BackendCase backend_cases[];
extern const int backend_n_cases;

#endif
