/* agent.h -- the in-process half of spyglass (the spyglass._agent module).
 *
 * Each feature exposes two things to module.c:
 *   - agent_<feature>_main(request): the command run by `spyglass
 *     <feature>` after the executable hands over (agent/commands.h);
 *   - agent_<feature>_init(module): adds the feature's Python API (types,
 *     functions) to the module; returns 0, or -1 with an exception set.
 */
#ifndef SG_AGENT_H
#define SG_AGENT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

int agent_profile_init(PyObject *module);
int agent_lines_init(PyObject *module);
int agent_memory_init(PyObject *module);
int agent_magic_init(PyObject *module); /* the IPython magics: magic.c */

/* Print the current Python exception with its traceback, as the interpreter
 * would, without exiting on SystemExit (PyErr_Print would); clears it. */
void agent_print_exception(void);

/* Flush sys.stdout and sys.stderr (keeping any exception set), so that a
 * command's result written to fd 1 comes after what the program printed. */
void agent_flush_stdio(void);

/* Write text to sys.stdout, so that redirection and capture (IPython's
 * too) see it; to C's stdout when there is none. Returns 0, or -1 with an
 * exception set. */
int agent_write_stdout(const char *text, size_t len);

/* The UTF-8 of str s, owned by s; fallback when s is NULL, not a str, or
 * not encodable (the error is cleared). */
const char *agent_utf8(PyObject *s, const char *fallback);

/* Add obj to the module as name and list name in its __all__ (which
 * spyglass/__init__.py re-exports). Returns 0, or -1 with an exception. */
int agent_export(PyObject *m, const char *name, PyObject *obj);

#endif
