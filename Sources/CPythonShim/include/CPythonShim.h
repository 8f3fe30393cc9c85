#ifndef CPYTHONSHIM_H
#define CPYTHONSHIM_H
/* A narrow door into a libpython chosen at run time.
 *
 * pytestd serves whatever CPython the user's venv is built on (3.8-3.13), so it cannot link one
 * libpython: it dlopens the venv's own library (RTLD_GLOBAL, or extension modules fail to load) and
 * resolves the handful of stable C API functions below. Python.h never reaches Swift, and no
 * version-specific struct or macro (refcount layout, PyConfig) is used. */
#include <stddef.h>

/* dlopen + dlsym. Returns 0, or -1 with a message in err. */
int pyshim_load(const char *libpython_path, char *err, size_t errlen);
/* Points the interpreter at the venv (program name = venv/bin/python, so CPython reads pyvenv.cfg and
 * runs site for the venv) and initialises it without Python's own signal handlers. */
int pyshim_initialize(const char *program_path, char *err, size_t errlen);
/* Imports `module` with `directory` temporarily first on sys.path (the in-interpreter half). */
int pyshim_import_from(const char *directory, const char *module);

/* module.function(*args), each arg passed as bytes. The result must be an int (call_long) or bytes
 * (call_bytes, malloc'd copy in *out, caller frees). On a Python exception the traceback is printed
 * to stderr and -1 is returned. */
int pyshim_call_long(const char *module, const char *function, int nargs, const char *const *args,
                     const size_t *lengths, long *result);
int pyshim_call_bytes(const char *module, const char *function, int nargs, const char *const *args,
                      const size_t *lengths, char **out, size_t *outlen);

/* Registers the module `name` (sys.modules only) with what Python code cannot do itself:
 * counted_starts(code), CPython's own count of a code object's starts (3.8-3.11, read at a known
 * offset; 3.12+ uses sys.monitoring), with record_starts(marker)/stop_recording()/has_started(code), a
 * C profile hook remembering which code objects ran, as the fallback where that reading fails its
 * check; make_young(obj), which hands a frozen object back to the collector's youngest generation; and
 * layer_point(), the warm-up's call into the host where it forks its zygote. */
int pyshim_install_native(const char *name);
/* What _native.layer_point() calls (see python/pytestd/_zygote.py): the host's zygote fork. */
void pyshim_set_layer_point(long (*handler)(const char *conftest));
/* Around fork(): keeps the interpreter's locks and os.register_at_fork hooks consistent. */
void pyshim_before_fork(void);
void pyshim_after_fork_parent(void);
void pyshim_after_fork_child(void);
#endif
