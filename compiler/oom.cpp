// oom.cpp — one ending for every out-of-memory in nnc: "nnc: error: out of memory ..." and
// exit status 3. Consumes: nothing. Produces: the handlers for C++ allocations (operator
// new, which LLVM uses), LLVM's own allocation failures and LLVM's fatal errors. The C
// allocators of lang/arena.c end the same way. Handlers write with write(2): no allocation.
#include <cstring>
#include <new>
#include <unistd.h>

#include <llvm/Support/ErrorHandling.h>

static void say(const char *text) {
  ssize_t ignored = write(2, text, strlen(text));
  (void)ignored;
}

[[noreturn]] static void out_of_memory(const char *where) {
  say("nnc: error: out of memory (");
  say(where);
  say(")\n");
  _exit(3);
}

static void new_failed() { out_of_memory("in code generation"); }

static void llvm_bad_alloc(void *, const char *, bool) { out_of_memory("in LLVM"); }

/* The first line of text, at most 300 bytes: LLVM's reasons may go on with a whole
 * selection DAG (a thousand lines for one instruction it cannot select). */
static void say_first_line(const char *text) {
  size_t n = strcspn(text, "\n");
  ssize_t ignored = write(2, text, n < 300 ? n : 300);
  (void)ignored;
}

/* report_fatal_error: "out of memory" from LLVM, or an error in the input LLVM cannot handle
 * (most often a --cpu and --features combination its back-end was never built for). */
static void llvm_fatal(void *, const char *reason, bool) {
  if (strstr(reason, "out of memory") || strstr(reason, "Allocation failed")) out_of_memory("in LLVM");
  say("nnc: error: LLVM cannot generate code for this target (check --cpu and --features): ");
  say_first_line(reason);
  say("\n");
  _exit(3);
}

extern "C" void nnc_install_oom_handlers(void) {
  std::set_new_handler(new_failed);
  llvm::install_bad_alloc_error_handler(llvm_bad_alloc, nullptr);
  llvm::install_fatal_error_handler(llvm_fatal, nullptr);
}
