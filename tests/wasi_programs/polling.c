/* poll() on stdin (which has data) and on nothing but a timeout; select() with a zero timeout. */
#include <poll.h>
#include <stdio.h>
#include <sys/select.h>
#include <time.h>
int main(void) {
  struct pollfd in = {0, POLLIN, 0};
  int ready = poll(&in, 1, 1000);
  printf("poll stdin: %d, readable: %d\n", ready, (in.revents & POLLIN) != 0);
  char line[64];
  if (fgets(line, sizeof line, stdin)) printf("first line: %s", line);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  ready = poll(NULL, 0, 40);
  clock_gettime(CLOCK_MONOTONIC, &b);
  long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  printf("poll timeout: %d, waited 40 ms: %s\n", ready, ms >= 39 ? "yes" : "no");
  fd_set set;
  FD_ZERO(&set);
  FD_SET(1, &set);
  struct timeval zero = {0, 0};
  printf("select stdout writable: %d\n", select(2, NULL, &set, NULL, &zero));
  return 0;
}
