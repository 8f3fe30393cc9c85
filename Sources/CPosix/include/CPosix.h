#ifndef CPOSIX_H
#define CPOSIX_H
/* The few POSIX calls Swift cannot express directly: SCM_RIGHTS (CMSG_* are macros), sockaddr_un,
 * SO_PEERCRED, and async-signal-safe signal delivery through a pipe. */
#include <stddef.h>
#include <sys/types.h>

/* sendmsg with fds attached as one SCM_RIGHTS message; MSG_NOSIGNAL. Returns bytes sent or -1 (errno). */
ssize_t cposix_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds);
/* recvmsg collecting attached fds (made close-on-exec). Returns bytes or -1; fails with EMSGSIZE on MSG_CTRUNC. */
ssize_t cposix_recv_with_fds(int sock, void *buf, size_t len, int *fds, int maxfds, int *nfds);

/* Unix stream sockets, close-on-exec. Return an fd or -1 (errno; ENAMETOOLONG for a path over sun_path). */
int cposix_unix_listen(const char *path, int backlog);
int cposix_unix_connect(const char *path);
int cposix_accept(int listen_fd);
/* SO_PEERCRED of a connected unix socket. */
int cposix_peer_credentials(int sock, pid_t *pid, uid_t *uid);

/* A non-blocking self-pipe that receives one byte (the signal number) per delivered signal.
 * cposix_signal_pipe_fd creates it on first use and returns the read end. */
int cposix_signal_pipe_fd(void);
int cposix_signal_pipe_watch(int signo);
/* Restores the default disposition of every signal, closes the signal pipe and unblocks every signal
 * (for a freshly forked child). */
void cposix_reset_signals(void);
/* fork() with every signal blocked across it, so no handler of the parent ever runs in the child
 * (it would write to the parent's signal pipe: a child's SIGTERM would stop the parent). The child
 * starts with default handlers and nothing blocked; the parent gets its mask back. */
pid_t cposix_fork(void);
/* The signals (bit s-1 for signal s) this process ignores (SIG_IGN), and ignoring them again: a
 * program started through the shim must inherit what its caller ignored (nohup, `cmd &`). */
unsigned long long cposix_ignored_signals(void);
void cposix_ignore_signals(unsigned long long mask);
/* Whether this process is in the foreground process group of a controlling terminal: the
 * terminal's own signals (Ctrl-C, Ctrl-\) then reach its children too. */
int cposix_in_terminal_foreground(void);

/* statfs(2)'s f_type (the file system's magic number) of path, or -1 (errno). */
long long cposix_file_system_type(const char *path);

/* A new pseudo-terminal whose slave starts with `terminal`'s modes and window size; both ends
 * close-on-exec, the master non-blocking. Returns 0, or -1 (errno). */
int cposix_open_pty(int terminal, int *master, int *slave);
/* TIOCGWINSZ of `from` applied to `to` with TIOCSWINSZ (on a pty master: SIGWINCH to its foreground). */
int cposix_copy_window_size(int from, int to);
/* TIOCSCTTY without stealing: fails (EPERM) if `fd` is another session's controlling terminal. */
int cposix_take_controlling_terminal(int fd);

int cposix_set_parent_death_signal(int signo);
/* Orphaned descendants (a zygote or reloaded template whose parent host ended) become our children. */
int cposix_become_child_subreaper(void);
/* Closes every descriptor from `lowest` up: a daemon must not keep its starter's pipes open. */
void cposix_close_from(int lowest);
#endif
