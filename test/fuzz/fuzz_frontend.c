/* fuzz_frontend.c — libFuzzer target over the lexer, parser and checker.
 * Consumes: arbitrary bytes as a .nn file. Produces: nothing; any crash, leak, hang or
 * sanitizer report is a bug. Diagnostics go to a null stream. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *devnull;
  if (!devnull) devnull = fopen("/dev/null", "w");
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  Source src = {"fuzz.nn", text, size};
  Arena arena = {0};
  Diag diag;
  diag_init(&diag, &src, devnull);
  AstFile *ast = ast_parse(&src, &arena, &diag);
  if (diag.errors == 0) {
    IrNetwork *net = sema_check(ast, "fuzz.nn", &arena, &diag);
    if (net && ir_verify(net, stderr)) abort();
    if (net) {
      ir_dump(net, devnull);
      ir_dump_dot(net, devnull);
    }
  }
  arena_free(&arena);
  free(text);
  return 0;
}
