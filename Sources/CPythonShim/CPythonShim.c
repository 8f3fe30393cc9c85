#define _GNU_SOURCE
#include "CPythonShim.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

typedef struct _object PyObject;
typedef ptrdiff_t Py_ssize_t;

static struct {
    wchar_t *(*Py_DecodeLocale)(const char *, size_t *);
    void (*Py_SetProgramName)(const wchar_t *);
    void (*Py_InitializeEx)(int);
    PyObject *(*PyImport_ImportModule)(const char *);
    PyObject *(*PyObject_GetAttrString)(PyObject *, const char *);
    PyObject *(*PyObject_CallObject)(PyObject *, PyObject *);
    PyObject *(*PyTuple_New)(Py_ssize_t);
    int (*PyTuple_SetItem)(PyObject *, Py_ssize_t, PyObject *);
    PyObject *(*PyBytes_FromStringAndSize)(const char *, Py_ssize_t);
    int (*PyBytes_AsStringAndSize)(PyObject *, char **, Py_ssize_t *);
    long (*PyLong_AsLong)(PyObject *);
    PyObject *(*PyErr_Occurred)(void);
    void (*PyErr_Print)(void);
    void (*Py_DecRef)(PyObject *);
    PyObject *(*PySys_GetObject)(const char *);
    int (*PyList_Insert)(PyObject *, Py_ssize_t, PyObject *);
    int (*PySequence_DelItem)(PyObject *, Py_ssize_t);
    PyObject *(*PyUnicode_DecodeFSDefault)(const char *);
    void (*PyOS_BeforeFork)(void);
    void (*PyOS_AfterFork_Parent)(void);
    void (*PyOS_AfterFork_Child)(void);
} api;

#define RESOLVE(name)                                                                    \
    do {                                                                                 \
        *(void **)(&api.name) = dlsym(lib, #name);                                       \
        if (!api.name) {                                                                 \
            snprintf(err, errlen, "%s does not export %s", libpython_path, #name);       \
            return -1;                                                                   \
        }                                                                                \
    } while (0)

int pyshim_load(const char *libpython_path, char *err, size_t errlen) {
    void *lib = dlopen(libpython_path, RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        snprintf(err, errlen, "cannot load %s: %s", libpython_path, dlerror());
        return -1;
    }
    RESOLVE(Py_DecodeLocale);
    RESOLVE(Py_SetProgramName);
    RESOLVE(Py_InitializeEx);
    RESOLVE(PyImport_ImportModule);
    RESOLVE(PyObject_GetAttrString);
    RESOLVE(PyObject_CallObject);
    RESOLVE(PyTuple_New);
    RESOLVE(PyTuple_SetItem);
    RESOLVE(PyBytes_FromStringAndSize);
    RESOLVE(PyBytes_AsStringAndSize);
    RESOLVE(PyLong_AsLong);
    RESOLVE(PyErr_Occurred);
    RESOLVE(PyErr_Print);
    RESOLVE(Py_DecRef);
    RESOLVE(PySys_GetObject);
    RESOLVE(PyList_Insert);
    RESOLVE(PySequence_DelItem);
    RESOLVE(PyUnicode_DecodeFSDefault);
    RESOLVE(PyOS_BeforeFork);
    RESOLVE(PyOS_AfterFork_Parent);
    RESOLVE(PyOS_AfterFork_Child);
    return 0;
}

int pyshim_initialize(const char *program_path, char *err, size_t errlen) {
    /* The decoded name must outlive the interpreter: it is never freed. */
    wchar_t *program = api.Py_DecodeLocale(program_path, NULL);
    if (!program) {
        snprintf(err, errlen, "cannot decode program path %s", program_path);
        return -1;
    }
    api.Py_SetProgramName(program);
    api.Py_InitializeEx(0);
    return 0;
}

int pyshim_import_from(const char *directory, const char *module) {
    PyObject *path = api.PySys_GetObject("path"); /* borrowed */
    PyObject *entry = api.PyUnicode_DecodeFSDefault(directory);
    if (!path || !entry || api.PyList_Insert(path, 0, entry) < 0) {
        if (entry) api.Py_DecRef(entry);
        api.PyErr_Print();
        return -1;
    }
    api.Py_DecRef(entry);
    PyObject *imported = api.PyImport_ImportModule(module);
    if (api.PySequence_DelItem(path, 0) < 0 || !imported) {
        if (imported) api.Py_DecRef(imported);
        api.PyErr_Print();
        return -1;
    }
    api.Py_DecRef(imported);
    return 0;
}

/* New reference to the call's result, or NULL with the exception printed. */
static PyObject *call(const char *module, const char *function, int nargs, const char *const *args,
                      const size_t *lengths) {
    PyObject *result = NULL, *callable = NULL, *tuple = NULL;
    PyObject *mod = api.PyImport_ImportModule(module);
    if (!mod) goto done;
    callable = api.PyObject_GetAttrString(mod, function);
    if (!callable) goto done;
    tuple = api.PyTuple_New(nargs);
    if (!tuple) goto done;
    for (int i = 0; i < nargs; i++) {
        PyObject *item = api.PyBytes_FromStringAndSize(args[i], (Py_ssize_t)lengths[i]);
        if (!item || api.PyTuple_SetItem(tuple, i, item) < 0) goto done; /* SetItem steals item */
    }
    result = api.PyObject_CallObject(callable, tuple);
done:
    if (tuple) api.Py_DecRef(tuple);
    if (callable) api.Py_DecRef(callable);
    if (mod) api.Py_DecRef(mod);
    if (!result) api.PyErr_Print();
    return result;
}

int pyshim_call_long(const char *module, const char *function, int nargs, const char *const *args,
                     const size_t *lengths, long *out) {
    PyObject *result = call(module, function, nargs, args, lengths);
    if (!result) return -1;
    *out = api.PyLong_AsLong(result);
    api.Py_DecRef(result);
    if (api.PyErr_Occurred()) { api.PyErr_Print(); return -1; }
    return 0;
}

int pyshim_call_bytes(const char *module, const char *function, int nargs, const char *const *args,
                      const size_t *lengths, char **out, size_t *outlen) {
    PyObject *result = call(module, function, nargs, args, lengths);
    if (!result) return -1;
    char *data;
    Py_ssize_t size;
    if (api.PyBytes_AsStringAndSize(result, &data, &size) < 0) {
        api.Py_DecRef(result);
        api.PyErr_Print();
        return -1;
    }
    *out = malloc((size_t)size + 1);
    memcpy(*out, data, (size_t)size);
    (*out)[size] = 0;
    *outlen = (size_t)size;
    api.Py_DecRef(result);
    return 0;
}

void pyshim_before_fork(void) { api.PyOS_BeforeFork(); }
void pyshim_after_fork_parent(void) { api.PyOS_AfterFork_Parent(); }
void pyshim_after_fork_child(void) { api.PyOS_AfterFork_Child(); }
