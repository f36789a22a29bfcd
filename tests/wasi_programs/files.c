/* create, write, read, append, seek, truncate, stat. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
  mkdir("/tmp/dt", 0755);
  FILE *f = fopen("/tmp/dt/data.txt", "w");
  if (!f) { perror("fopen w"); return 1; }
  fputs("hello\nworld\n", f);
  fclose(f);
  f = fopen("/tmp/dt/data.txt", "a");
  fputs("appended\n", f);
  fclose(f);
  char buf[64] = {0};
  int fd = open("/tmp/dt/data.txt", O_RDWR);
  lseek(fd, 6, SEEK_SET);
  ssize_t n = read(fd, buf, 5);
  printf("read %zd at 6: %s\n", n, buf);
  off_t end = lseek(fd, 0, SEEK_END);
  printf("size by seek: %ld\n", (long)end);
  lseek(fd, 0, SEEK_SET);
  write(fd, "HELLO", 5);
  ftruncate(fd, 12);
  close(fd);
  struct stat st;
  stat("/tmp/dt/data.txt", &st);
  printf("size by stat: %ld, regular: %d\n", (long)st.st_size, S_ISREG(st.st_mode));
  f = fopen("/tmp/dt/data.txt", "r");
  while (fgets(buf, sizeof buf, f)) printf("line: %s", buf);
  fclose(f);
  printf("missing: %s\n", fopen("/tmp/dt/nope.txt", "r") ? "opened" : "ENOENT");
  unlink("/tmp/dt/data.txt");
  rmdir("/tmp/dt");
  return 0;
}
