/* Linked into every executable of an AddressSanitizer build (cmake/sanitizers.cmake).
 *
 * intercept_tls_get_addr=0: GCC 12's sanitizer runtime (fixed in GCC 14 / LLVM 17) takes a
 * dynamic TLS block for a pre-2.25 glibc one when its address modulo 4096 matches that old
 * header's size, then reads a bogus address and length in front of it. Dynamic TLS is what
 * dlopen'ed libraries use, so processes that load the LLVM tier (libbpfbox-llvm.so, libLLVM)
 * crashed at exit in LeakSanitizer's tracer ("Tracer caught signal 11"), depending on where malloc
 * happened to place a block. Without the interceptor LSan does not scan dynamic TLS; bpfbox keeps
 * no heap pointer only there. ASAN_OPTIONS from the environment still override these. */
const char* __asan_default_options(void) {
  return "intercept_tls_get_addr=0";
}
