#define _GNU_SOURCE
#include "CPythonShim.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

typedef struct _object PyObject;
typedef struct _frame PyFrameObject;
typedef ptrdiff_t Py_ssize_t;
typedef PyObject *(*PyCFunction)(PyObject *, PyObject *);

/* Stable ABI layout (Include/methodobject.h). */
typedef struct {
    const char *ml_name;
    PyCFunction ml_meth;
    int ml_flags;
    const char *ml_doc;
} PyMethodDef;
/* PEP 587 (3.8+), unchanged through 3.13. The PyPreConfig is only ever filled and read by CPython
   itself, so it is kept opaque in a buffer larger than any version's struct. */
typedef struct {
    int _type;
    const char *func;
    const char *err_msg;
    int exitcode;
} PyStatus;
typedef union {
    char bytes[256];
    long double align;
} PyPreConfigStorage;

#define METH_NOARGS 0x0004
#define METH_O 0x0008
#define PyTrace_CALL 0

static struct {
    void (*PyPreConfig_InitPythonConfig)(PyPreConfigStorage *);
    PyStatus (*Py_PreInitialize)(const PyPreConfigStorage *);
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
    PyObject *(*PyCFunction_NewEx)(PyMethodDef *, PyObject *, PyObject *);
    PyObject *(*PyModule_New)(const char *);
    int (*PyModule_AddObject)(PyObject *, const char *, PyObject *);
    int (*PyDict_SetItemString)(PyObject *, const char *, PyObject *);
    PyObject *(*PyImport_GetModuleDict)(void);
    PyObject *(*PyBool_FromLong)(long);
    int (*PyObject_IsTrue)(PyObject *);
    void (*PyObject_GC_Track)(void *);
    void (*PyObject_GC_UnTrack)(void *);
    void (*PyEval_SetProfile)(int (*)(PyObject *, PyFrameObject *, int, PyObject *), PyObject *);
    PyObject *(*PyFrame_GetCode)(PyFrameObject *); /* 3.9+: NULL before */
    const char *(*Py_GetVersion)(void);
    PyObject *(*PyLong_FromLong)(long);
    PyObject *(*PyObject_Type)(PyObject *);
    void (*Py_IncRef)(PyObject *);
    PyObject *PyCode_Type;     /* data: the type object itself */
    PyObject *_Py_NoneStruct;  /* data: None */
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
    RESOLVE(PyPreConfig_InitPythonConfig);
    RESOLVE(Py_PreInitialize);
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
    RESOLVE(PyCFunction_NewEx);
    RESOLVE(PyModule_New);
    RESOLVE(PyModule_AddObject);
    RESOLVE(PyDict_SetItemString);
    RESOLVE(PyImport_GetModuleDict);
    RESOLVE(PyBool_FromLong);
    RESOLVE(PyObject_IsTrue);
    RESOLVE(PyObject_GC_Track);
    RESOLVE(PyObject_GC_UnTrack);
    RESOLVE(PyEval_SetProfile);
    RESOLVE(Py_GetVersion);
    RESOLVE(PyLong_FromLong);
    RESOLVE(PyObject_Type);
    RESOLVE(Py_IncRef);
    RESOLVE(PyCode_Type);
    RESOLVE(_Py_NoneStruct);
    *(void **)(&api.PyFrame_GetCode) = dlsym(lib, "PyFrame_GetCode");
    return 0;
}

int pyshim_initialize(const char *program_path, char *err, size_t errlen) {
    /* Locale, UTF-8 mode and C-locale coercion as the `python` program settles them (an embedding's
       default leaves a C/POSIX locale ASCII: non-ASCII file names and output would differ from a
       plain run); before anything decodes a byte string. */
    PyPreConfigStorage preconfig;
    api.PyPreConfig_InitPythonConfig(&preconfig);
    PyStatus status = api.Py_PreInitialize(&preconfig);
    if (status._type != 0) {
        snprintf(err, errlen, "cannot pre-initialise Python: %s", status.err_msg ? status.err_msg : "unknown error");
        return -1;
    }
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

/* ---- pytestd._native: what Python code cannot do for itself ---- */

/* Code objects that started running while the template was built, by address: an edit to such a
 * function may have changed what the imports computed, so it is never patched in place. An address
 * reused by a newer code object only makes the answer more conservative. */
static struct {
    uintptr_t *slots;
    size_t capacity, count;
} started;

static int remember(uintptr_t key) {
    if (started.count * 2 >= started.capacity) {
        size_t capacity = started.capacity ? started.capacity * 2 : 1 << 16;
        uintptr_t *slots = calloc(capacity, sizeof *slots);
        if (!slots) return -1;
        for (size_t i = 0; i < started.capacity; i++) {
            uintptr_t old = started.slots[i];
            if (!old) continue;
            size_t j = (old >> 4) & (capacity - 1);
            while (slots[j]) j = (j + 1) & (capacity - 1);
            slots[j] = old;
        }
        free(started.slots);
        started.slots = slots;
        started.capacity = capacity;
    }
    size_t j = (key >> 4) & (started.capacity - 1);
    while (started.slots[j]) {
        if (started.slots[j] == key) return 0;
        j = (j + 1) & (started.capacity - 1);
    }
    started.slots[j] = key;
    started.count++;
    return 0;
}

static int contains(uintptr_t key) {
    if (!started.capacity) return 0;
    size_t j = (key >> 4) & (started.capacity - 1);
    while (started.slots[j]) {
        if (started.slots[j] == key) return 1;
        j = (j + 1) & (started.capacity - 1);
    }
    return 0;
}

/* Set once memory runs out: stop_recording() then reports the record as incomplete. */
static int lost;

static int profile(PyObject *self, PyFrameObject *frame, int what, PyObject *arg) {
    (void)self;
    (void)arg;
    if (what != PyTrace_CALL) return 0;
    PyObject *code = api.PyFrame_GetCode(frame);
    if (remember((uintptr_t)code) < 0) lost = 1;
    api.Py_DecRef(code);
    return 0;
}

/* record_starts(marker): profiles this thread with `marker` as the profile object, so that
 * sys.getprofile() shows whether anyone replaced the hook. False if this Python lacks
 * PyFrame_GetCode (3.8). */
static PyObject *record_starts(PyObject *self, PyObject *marker) {
    (void)self;
    if (!api.PyFrame_GetCode) return api.PyBool_FromLong(0);
    api.PyEval_SetProfile(profile, marker);
    return api.PyBool_FromLong(1);
}

static PyObject *stop_recording(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    api.PyEval_SetProfile(NULL, NULL);
    return api.PyBool_FromLong(!lost);
}

static PyObject *has_started(PyObject *self, PyObject *code) {
    (void)self;
    return api.PyBool_FromLong(contains((uintptr_t)code));
}

/* Before 3.12 CPython already counts the starts of each code object, to decide when to optimise it:
 * 3.8-3.10 PyCodeObject.co_opcache_flag (an int, +1 each time _PyEval_EvalFrameDefault evaluates one
 * of its frames, module bodies and generator resumptions included, until OPCACHE_MIN_RUNS = 1024; a
 * generator's frame is first evaluated by its first next() or by closing it), 3.11 co_warmup (a
 * short, from QUICKENING_INITIAL_WARMUP_VALUE = -8 up by one at each RESUME and backward jump until
 * 0, when the code is quickened; a generator that was never iterated has not reached its RESUME).
 * Nothing resets either. A PEP 523 frame evaluator that runs code without _PyEval_EvalFrameDefault
 * would not be counted. Offsets from each minor's installed headers (release builds: a Py_TRACE_REFS
 * build has a larger object header); pytestd._calls checks the readings at run time before trusting
 * them, since nothing here can prove the layout. */
static const struct start_counter {
    int minor;
    size_t offset, width;
    long initial;
} start_counters[] = {
    {8, 168, sizeof(int), 0},
    {9, 168, sizeof(int), 0},
    {10, 168, sizeof(int), 0},
    {11, 52, sizeof(short), -8},
};

/* This interpreter's entry of start_counters, or NULL (3.12+, or a code object too small for it). */
static const struct start_counter *start_counter;

static void choose_start_counter(void) {
    int major = 0, minor = 0;
    if (sscanf(api.Py_GetVersion(), "%d.%d", &major, &minor) != 2 || major != 3) return;
    PyObject *size = api.PyObject_GetAttrString(api.PyCode_Type, "__basicsize__");
    long basic_size = size ? api.PyLong_AsLong(size) : -1;
    if (size) api.Py_DecRef(size);
    if (api.PyErr_Occurred()) {
        api.PyErr_Print();
        return;
    }
    for (size_t i = 0; i < sizeof start_counters / sizeof *start_counters; i++) {
        const struct start_counter *counter = &start_counters[i];
        if (counter->minor == minor && counter->offset + counter->width <= (size_t)basic_size) start_counter = counter;
    }
}

/* counted_starts(code): how many times CPython has counted a start of `code` (capped: 1024 on
 * 3.8-3.10, 8 on 3.11); None when this interpreter has no known counter or `code` is no code object. */
static PyObject *counted_starts(PyObject *self, PyObject *code) {
    (void)self;
    PyObject *type = api.PyObject_Type(code);
    api.Py_DecRef(type);
    if (!start_counter || type != api.PyCode_Type) {
        api.Py_IncRef(api._Py_NoneStruct);
        return api._Py_NoneStruct;
    }
    const char *field = (const char *)code + start_counter->offset;
    long value = start_counter->width == sizeof(short) ? *(const short *)field : *(const int *)field;
    return api.PyLong_FromLong(value - start_counter->initial);
}

/* Moves a tracked object from wherever the collector keeps it (gc.freeze's permanent generation
 * included) into the youngest generation, so that gc.collect(0) considers it. */
static PyObject *make_young(PyObject *self, PyObject *object) {
    (void)self;
    api.PyObject_GC_UnTrack(object);
    api.PyObject_GC_Track(object);
    return api.PyBool_FromLong(1);
}

/* The warm-up's layer point (python/pytestd/_zygote.py), given the conftest's path as bytes: the host
   forks its zygote there. Returns 1 in a host forked from the zygote, 0 in the host that goes on
   warming (or when no handler is set). */
static long (*layer_point_handler)(const char *conftest);

void pyshim_set_layer_point(long (*handler)(const char *conftest)) { layer_point_handler = handler; }

static PyObject *layer_point(PyObject *self, PyObject *conftest) {
    (void)self;
    char *path;
    Py_ssize_t size;
    if (api.PyBytes_AsStringAndSize(conftest, &path, &size) < 0) return NULL;
    return api.PyLong_FromLong(layer_point_handler ? layer_point_handler(path) : 0);
}

static PyMethodDef native_functions[] = {
    {"record_starts", record_starts, METH_O, NULL},
    {"stop_recording", stop_recording, METH_NOARGS, NULL},
    {"has_started", has_started, METH_O, NULL},
    {"counted_starts", counted_starts, METH_O, NULL},
    {"make_young", make_young, METH_O, NULL},
    {"layer_point", layer_point, METH_O, NULL},
};

int pyshim_install_native(const char *name) {
    choose_start_counter();
    PyObject *module = api.PyModule_New(name);
    if (!module) goto fail;
    for (size_t i = 0; i < sizeof native_functions / sizeof *native_functions; i++) {
        PyObject *function = api.PyCFunction_NewEx(&native_functions[i], NULL, NULL);
        if (!function || api.PyModule_AddObject(module, native_functions[i].ml_name, function) < 0) goto fail;
    }
    if (api.PyDict_SetItemString(api.PyImport_GetModuleDict(), name, module) < 0) goto fail;
    api.Py_DecRef(module);
    return 0;
fail:
    if (module) api.Py_DecRef(module);
    api.PyErr_Print();
    return -1;
}
