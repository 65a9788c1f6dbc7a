/*
 * hptlab's one native helper (optional; docs/memory.md, "Huge pages"): asks Linux to back a WASM
 * memory with 2 MiB pages. V8 maps a WASM memory, shared or not, as private anonymous memory and
 * never advises it; where transparent huge pages are set to "madvise" (a common default), such
 * memory gets 4 KiB pages only, and the engine's random walks over 16 MiB HPTs and 8 MiB TLB arrays
 * pay a host page walk on most accesses. madvise(MADV_HUGEPAGE) over the memory's reservation makes
 * every page the memory later grows into eligible. Only speed depends on it, never a result.
 *
 * advise(view, bytes): view is a typed array over the memory's buffer (its first byte is the
 * memory's base); bytes the most the memory can grow to. Returns the base address (a Number: below
 * 2^53 on every 64-bit Linux) when the whole-2-MiB part of [base, base + bytes) was advised, or
 * -errno.
 */
#include <node_api.h>
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>

#define HUGE ((uintptr_t)2 << 20)

static napi_value advise(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_value out;
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value buffer;
  double bytes;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2
      || napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &offset) != napi_ok
      || napi_get_value_double(env, argv[1], &bytes) != napi_ok || !(bytes >= 0)) {
    napi_throw_type_error(env, NULL, "hugepages.advise(view: TypedArray, bytes: number)");
    return NULL;
  }
  uintptr_t base = (uintptr_t)data;
  uintptr_t start = (base + HUGE - 1) & ~(HUGE - 1);
  uintptr_t end = (base + (uintptr_t)bytes) & ~(HUGE - 1);
  int r = 0;
#ifdef MADV_HUGEPAGE
  if (end > start && madvise((void *)start, end - start, MADV_HUGEPAGE) != 0) r = -errno;
#else
  r = -ENOSYS;
#endif
  napi_create_double(env, r == 0 ? (double)base : (double)r, &out);
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "advise", NAPI_AUTO_LENGTH, advise, NULL, &fn);
  napi_set_named_property(env, exports, "advise", fn);
  return exports;
}
