/* mkdir, listing (sorted), rename, unlink, rmdir, errors. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void list(const char *path) {
  DIR *d = opendir(path);
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 64) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp);
  printf("%s:", path);
  for (int i = 0; i < n; i++) printf(" %s", names[i]);
  printf("\n");
}
int main(void) {
  mkdir("/tmp/dd", 0755);
  mkdir("/tmp/dd/sub", 0755);
  for (int i = 0; i < 5; i++) {
    char name[64];
    snprintf(name, sizeof name, "/tmp/dd/file%d", 4 - i);
    fclose(fopen(name, "w"));
  }
  list("/tmp/dd");
  printf("rename: %d\n", rename("/tmp/dd/file0", "/tmp/dd/sub/moved"));
  list("/tmp/dd");
  list("/tmp/dd/sub");
  printf("rmdir non-empty: %s\n", rmdir("/tmp/dd/sub") == 0 ? "ok" : errno == ENOTEMPTY ? "ENOTEMPTY" : "other");
  printf("mkdir existing: %s\n", mkdir("/tmp/dd", 0755) == 0 ? "ok" : errno == EEXIST ? "EEXIST" : "other");
  unlink("/tmp/dd/sub/moved");
  for (int i = 1; i < 5; i++) { char n[64]; snprintf(n, sizeof n, "/tmp/dd/file%d", i); unlink(n); }
  printf("rmdir sub: %d, rmdir dd: %d\n", rmdir("/tmp/dd/sub"), rmdir("/tmp/dd"));
  struct stat st;
  printf("gone: %s\n", stat("/tmp/dd", &st) != 0 && errno == ENOENT ? "yes" : "no");
  return 0;
}
