/*
 * The pod sandbox's process for wif's node tests (test infrastructure: nothing here ships),
 * built by scripts/images into localhost/wif-test/pause:1, containerd's sandbox image there,
 * because no registry is reachable to pull registry.k8s.io/pause.
 *
 * It holds the pod's namespaces by doing nothing: it sleeps until a signal comes, reaps any
 * child handed to it (it is PID 1 when the pod shares its PID namespace), and exits 0 on
 * SIGINT or SIGTERM.  Built static, so the image holds this one file:
 *   gcc -static -Os -o pause pause.c
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
  (void)sig;
  _exit(0);
}

static void reap(int sig) {
  (void)sig;
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static int on(int sig, void (*handler)(int), int flags) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = handler;
  action.sa_flags = flags;
  sigemptyset(&action.sa_mask);
  return sigaction(sig, &action, NULL);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    puts("pause (wif node tests) 1");
    return 0;
  }
  if (getpid() != 1) {
    fputs("pause: warning: not PID 1, so orphans are not reaped here\n", stderr);
  }
  if (on(SIGINT, stop, 0) != 0 || on(SIGTERM, stop, 0) != 0 ||
      on(SIGCHLD, reap, SA_NOCLDSTOP | SA_RESTART) != 0) {
    perror("pause: sigaction");
    return 1;
  }
  for (;;) {
    pause();
  }
}
