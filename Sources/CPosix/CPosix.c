#define _GNU_SOURCE
#include "CPosix.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <termios.h>
#include <unistd.h>

#define MAX_PASSED_FDS 8

ssize_t cposix_send_with_fds(int sock, const void *buf, size_t len, const int *fds, int nfds) {
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    char control[CMSG_SPACE(sizeof(int) * MAX_PASSED_FDS)];
    if (nfds > MAX_PASSED_FDS) { errno = EINVAL; return -1; }
    if (nfds > 0) {
        memset(control, 0, sizeof control);
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
    }
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n;
}

ssize_t cposix_recv_with_fds(int sock, void *buf, size_t len, int *fds, int maxfds, int *nfds) {
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    char control[CMSG_SPACE(sizeof(int) * MAX_PASSED_FDS)];
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
                         .msg_controllen = sizeof control};
    *nfds = 0;
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    if (n < 0) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int *incoming = (int *)CMSG_DATA(c);
        for (int i = 0; i < count; i++) {
            if (*nfds < maxfds) fds[(*nfds)++] = incoming[i];
            else close(incoming[i]);
        }
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        for (int i = 0; i < *nfds; i++) close(fds[i]);
        *nfds = 0;
        errno = EMSGSIZE;
        return -1;
    }
    return n;
}

static int fill_address(struct sockaddr_un *addr, const char *path) {
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof addr->sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(addr->sun_path, path);
    return 0;
}

int cposix_unix_listen(const char *path, int backlog) {
    struct sockaddr_un addr;
    if (fill_address(&addr, path) < 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    /* Created 0600 from the start: no window in which another user could connect. */
    mode_t old = umask(0177);
    int rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
    umask(old);
    if (rc < 0 || listen(fd, backlog) < 0) { int e = errno; close(fd); errno = e; return -1; }
    return fd;
}

int cposix_unix_connect(const char *path) {
    struct sockaddr_un addr;
    if (fill_address(&addr, path) < 0) return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int rc;
    do { rc = connect(fd, (struct sockaddr *)&addr, sizeof addr); } while (rc < 0 && errno == EINTR);
    if (rc < 0) { int e = errno; close(fd); errno = e; return -1; }
    return fd;
}

int cposix_accept(int listen_fd) {
    int fd;
    do { fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC); } while (fd < 0 && errno == EINTR);
    return fd;
}

int cposix_peer_credentials(int sock, pid_t *pid, uid_t *uid) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return -1;
    *pid = cred.pid;
    *uid = cred.uid;
    return 0;
}

static int signal_pipe[2] = {-1, -1};

static void on_signal(int signo) {
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    ssize_t ignored = write(signal_pipe[1], &byte, 1);
    (void)ignored;
    errno = saved;
}

int cposix_signal_pipe_fd(void) {
    if (signal_pipe[0] < 0 && pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0) return -1;
    return signal_pipe[0];
}

int cposix_signal_pipe_watch(int signo) {
    if (cposix_signal_pipe_fd() < 0) return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(signo, &sa, NULL);
}

void cposix_reset_signals(void) {
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        signal(s, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (signal_pipe[0] >= 0) { close(signal_pipe[0]); close(signal_pipe[1]); signal_pipe[0] = signal_pipe[1] = -1; }
}

void cposix_close_from(int lowest) {
    if (close_range((unsigned)lowest, ~0U, 0) == 0) return;
    for (int fd = lowest; fd < 65536; fd++) close(fd);
}

pid_t cposix_fork(void) {
    sigset_t all, saved;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &saved);
    pid_t pid = fork();
    if (pid == 0) {
        cposix_reset_signals();
    } else {
        int e = errno;
        sigprocmask(SIG_SETMASK, &saved, NULL);
        errno = e;
    }
    return pid;
}

unsigned long long cposix_ignored_signals(void) {
    unsigned long long mask = 0;
    for (int s = 1; s < NSIG && s <= 64; s++) {
        struct sigaction old;
        if (sigaction(s, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN)
            mask |= 1ULL << (s - 1);
    }
    return mask;
}

void cposix_ignore_signals(unsigned long long mask) {
    for (int s = 1; s < NSIG && s <= 64; s++)
        if (mask & (1ULL << (s - 1))) signal(s, SIG_IGN);
}

int cposix_in_terminal_foreground(void) {
    int fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return 0;
    pid_t group = tcgetpgrp(fd);
    close(fd);
    return group >= 0 && group == getpgrp();
}

int cposix_open_pty(int terminal, int *master, int *slave) {
    struct termios modes;
    struct winsize size;
    if (tcgetattr(terminal, &modes) != 0 || ioctl(terminal, TIOCGWINSZ, &size) != 0) return -1;
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (m < 0) return -1;
    char name[64];
    int s = -1;
    if (grantpt(m) == 0 && unlockpt(m) == 0 && ptsname_r(m, name, sizeof name) == 0)
        s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0 || tcsetattr(s, TCSANOW, &modes) != 0 || ioctl(s, TIOCSWINSZ, &size) != 0) {
        int e = errno;
        close(m);
        if (s >= 0) close(s);
        errno = e;
        return -1;
    }
    *master = m;
    *slave = s;
    return 0;
}

int cposix_copy_window_size(int from, int to) {
    struct winsize size;
    if (ioctl(from, TIOCGWINSZ, &size) != 0) return -1;
    return ioctl(to, TIOCSWINSZ, &size);
}

int cposix_take_controlling_terminal(int fd) {
    return ioctl(fd, TIOCSCTTY, 0);
}

int cposix_set_parent_death_signal(int signo) {
    return prctl(PR_SET_PDEATHSIG, signo, 0, 0, 0);
}

int cposix_become_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

long long cposix_file_system_type(const char *path) {
    struct statfs st;
    if (statfs(path, &st) != 0) return -1;
    return (long long)(unsigned long)st.f_type;
}
