/* fuzz_onnx.c — libFuzzer target over the ONNX front-end (compiler/onnx.c).
 * Consumes: arbitrary bytes as a model.onnx. Produces: nothing; a crash, leak, hang or
 * sanitizer report is a bug, and so is an import whose .nn source the parser and checker
 * refuse, an IR that fails its verifier, or parameters that do not fit it (onnx_params
 * asserts their layout). Messages go to a null stream. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ast.h"
#include "ir.h"
#include "onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *devnull;
  if (!devnull) devnull = fopen("/dev/null", "w");
  OnnxModel *m = onnx_import("fuzz.onnx", data, size, devnull);
  if (!m) return 0;
  Source src = {"fuzz.onnx", NULL, 0};
  src.text = onnx_nn_source(m, &src.len);
  Arena arena = {0};
  Diag diag;
  diag_init(&diag, &src, devnull);
  AstFile *ast = ast_parse(&src, &arena, &diag);
  IrNetwork *net = diag.errors ? NULL : sema_check(ast, "fuzz.onnx", &arena, &diag);
  if (!net || ir_verify(net, stderr)) {
    fprintf(stderr, "imported source does not check:\n%s", src.text);
    abort();
  }
  free(onnx_params(m, net));
  arena_free(&arena);
  onnx_free(m);
  return 0;
}
