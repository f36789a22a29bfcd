/* clocks and sleeping: print only what must hold everywhere. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(void) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  usleep(30000);
  clock_gettime(CLOCK_MONOTONIC, &b);
  long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
  printf("slept at least 30 ms: %s\n", ms >= 29 ? "yes" : "no");
  printf("realtime after 2023: %s\n", time(NULL) > 1700000000 ? "yes" : "no");
  volatile double x = 0;
  for (int i = 0; i < 2000000; i++) x += i;
  printf("process clock runs: %s\n", clock() >= 0 ? "yes" : "no");
  return 0;
}
